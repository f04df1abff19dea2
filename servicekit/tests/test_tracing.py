"""Tracing without a collector: spans go to an in-memory exporter, log lines carry their ids."""

import io
import json
import logging
import threading

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import REGISTRY
from servicekit.app import ServiceQuart
from servicekit.logs import JsonFormatter
from servicekit.routes import UNMATCHED_ROUTE

from servicekit import tracing

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    assert tracing.start_tracing("shop", exporter=exporter)
    yield exporter
    tracing.stop_tracing()


@pytest.fixture
def log_lines():
    """The JSON lines of the `shop` loggers, formatted when written, as the service does."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    shop = logging.getLogger("shop")
    shop.addHandler(handler)
    shop.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    shop.removeHandler(handler)


def make_app():
    app = ServiceQuart("shop")
    app.track_requests("shop", access_log=True, metrics=None)

    @app.get("/items/<int:item_id>")
    async def item(item_id):
        logging.getLogger("shop.items").info("looked up", extra={"item": item_id})
        return {"item": item_id}

    @app.get("/out")
    async def out():
        tracing.mark_current_span_failed("stock service unavailable", TimeoutError())
        return {"error": "unavailable"}, 503

    @app.get("/broken")
    async def broken():
        raise RuntimeError("a bug")

    return app


@pytest.mark.parametrize(
    ("environ", "configured"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_SDK_DISABLED": "TRUE"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, False),
    ],
)
def test_tracing_is_on_only_with_an_endpoint_and_the_sdk_enabled(environ, configured):
    assert tracing.tracing_configured(environ) is configured


def test_without_an_endpoint_no_sdk_starts(monkeypatch):
    for name in (*tracing.ENDPOINT_VARIABLES, "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    assert tracing.start_tracing("shop") is False
    assert tracing.tracer() is None
    assert tracing.tracer_provider() is None


async def test_one_server_span_per_request_named_by_route_template(spans):
    response = await make_app().test_client().get("/items/7", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 200
    [span] = spans.get_finished_spans()
    assert span.name == "GET /items/{item_id}"
    assert span.kind is SpanKind.SERVER
    assert span.resource.attributes["service.name"] == "shop"
    assert dict(span.attributes) == {
        "http.request.method": "GET",
        "url.path": "/items/7",
        "http.route": "/items/{item_id}",
        "http.response.status_code": 200,
        "request.id": "req-1",
    }
    assert span.status.status_code is StatusCode.UNSET


async def test_a_callers_traceparent_is_continued(spans):
    await (
        make_app()
        .test_client()
        .get("/items/7", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    )
    [span] = spans.get_finished_spans()
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == PARENT_ID
    assert span.parent.is_remote


async def test_a_malformed_traceparent_starts_a_new_trace(spans):
    await make_app().test_client().get("/items/7", headers={"traceparent": "00-zz-yy-01"})
    [span] = spans.get_finished_spans()
    assert span.parent is None


async def test_server_errors_mark_the_span_with_their_reason(spans):
    client = make_app().test_client()
    await client.get("/out")
    await client.get("/broken")
    await client.get("/nowhere")
    out, broken, nowhere = spans.get_finished_spans()
    assert (out.status.status_code, out.status.description) == (
        StatusCode.ERROR,
        "stock service unavailable",
    )
    assert out.attributes["error.type"] == "TimeoutError"
    assert (broken.status.status_code, broken.status.description) == (
        StatusCode.ERROR,
        "answered 500",
    )
    assert nowhere.name == f"GET {UNMATCHED_ROUTE}"
    assert nowhere.status.status_code is StatusCode.UNSET  # a 404 is the client's error


async def test_every_log_line_of_a_request_carries_its_trace_and_span_ids(spans, log_lines):
    await make_app().test_client().get("/items/7")
    [span] = spans.get_finished_spans()
    lines = log_lines()
    assert [line["logger"] for line in lines] == ["shop.items", "shop.access"]
    for line in lines:
        assert line["trace_id"] == format(span.context.trace_id, "032x")
        assert line["span_id"] == format(span.context.span_id, "016x")


def test_log_lines_outside_a_span_have_no_trace_ids(spans, log_lines):
    logging.getLogger("shop").info("starting")
    [line] = log_lines()
    assert "trace_id" not in line
    assert "span_id" not in line


async def test_the_trace_id_is_shown_only_for_a_recorded_trace(spans):
    app = make_app()

    @app.get("/trace-id")
    async def trace_id():
        return {"trace_id": tracing.current_trace_id()}

    client = app.test_client()
    sampled = await client.get(
        "/trace-id", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
    )
    assert (await sampled.get_json())["trace_id"] == TRACE_ID
    # The caller did not sample this trace (parent-based sampler): nothing to look up.
    unsampled = await client.get(
        "/trace-id", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"}
    )
    assert (await unsampled.get_json())["trace_id"] == ""


def test_the_service_name_from_the_environment_wins(monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop-eu")
    exporter = InMemorySpanExporter()
    tracing.start_tracing("shop", exporter=exporter)
    try:
        with tracing.tracer().start_as_current_span("work"):
            pass
    finally:
        tracing.stop_tracing()
    [span] = exporter.get_finished_spans()
    assert span.resource.attributes["service.name"] == "shop-eu"


def dropped(reason):
    return REGISTRY.get_sample_value("otel_spans_dropped_total", {"reason": reason}) or 0.0


class BlockedExporter(InMemorySpanExporter):
    """An exporter stuck in a slow collector until released."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()

    def export(self, spans):
        self.release.wait(10)
        return super().export(spans)


@pytest.mark.parametrize(
    ("environ", "limits"),
    [
        ({}, {"max_queue_size": 4096, "max_export_batch_size": 2048}),
        ({"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "64"}, {"max_queue_size": 4096}),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "1000"}, {"max_export_batch_size": 1000}),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "9000"}, {"max_export_batch_size": 2048}),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "lots"}, {"max_export_batch_size": 2048}),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "8", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "4"}, {}),
    ],
)
def test_export_limits_are_larger_than_the_sdks_unless_the_environment_sets_them(environ, limits):
    assert tracing.export_limits(environ) == limits


def test_a_queue_smaller_than_the_default_batch_still_starts_and_exports(monkeypatch):
    # The SDK refuses a batch larger than the queue: the default batch follows the queue down.
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100")
    counting_processor, counting_exporter = tracing.counting_classes()
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(counting_processor(counting_exporter(memory)))
    for index in range(50):
        provider.get_tracer("test").start_span(f"span {index}").end()
    provider.shutdown()
    assert len(memory.get_finished_spans()) == 50


def test_a_full_export_queue_drops_spans_and_counts_them(monkeypatch):
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "4")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "1")
    counting_processor, counting_exporter = tracing.counting_classes()
    stuck = BlockedExporter()
    processor = counting_processor(counting_exporter(stuck))
    provider = TracerProvider()
    provider.add_span_processor(processor)
    before = dropped("queue_full")
    for index in range(20):
        provider.get_tracer("test").start_span(f"span {index}").end()
    # The export thread holds at most one batch (one span) while the queue keeps four.
    assert 20 - 4 - 1 <= dropped("queue_full") - before <= 20 - 4
    stuck.release.set()
    provider.shutdown()


def test_spans_a_collector_refuses_are_counted():
    class Refusing(InMemorySpanExporter):
        def export(self, spans):
            return SpanExportResult.FAILURE

    class Crashing(InMemorySpanExporter):
        def export(self, spans):
            raise ConnectionError("collector gone")

    _, counting_exporter = tracing.counting_classes()
    before = dropped("export_failed")
    provider = TracerProvider()
    assert counting_exporter(Refusing()).export([provider.get_tracer("t").start_span("a")]) is (
        SpanExportResult.FAILURE
    )
    assert counting_exporter(Crashing()).export([provider.get_tracer("t").start_span("b")] * 2) is (
        SpanExportResult.FAILURE
    )
    assert dropped("export_failed") - before == 3
