"""The frontend's spans, in memory: each page a server span, each backend call a client span
whose traceparent the backend receives; error pages show the trace id."""

from __future__ import annotations

import httpx
import pytest
from frontend.app import create_app
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from servicekit import tracing


@pytest.fixture
async def traced(settings, fake_backend):
    """(client, finished spans) of a frontend started with tracing on."""
    exporter = InMemorySpanExporter()
    tracing.start_tracing("frontend", exporter=exporter)
    app = create_app(settings, transport=fake_backend.transport)
    try:
        async with app.test_app():
            yield app.test_client(), exporter
    finally:
        tracing.stop_tracing()


async def test_a_page_and_its_backend_call_are_one_trace(traced, fake_backend):
    client, spans = traced
    fake_backend.add_user("ana", "Ana Lima")
    response = await client.get("/users", headers={"X-Request-ID": "page-1"})
    assert response.status_code == 200

    call, page = spans.get_finished_spans()
    assert page.name == "GET /users"
    assert page.kind is SpanKind.SERVER
    assert page.attributes["request.id"] == "page-1"
    assert call.kind is SpanKind.CLIENT
    assert call.parent.span_id == page.context.span_id
    assert call.context.trace_id == page.context.trace_id
    # The backend is told to continue the client span.
    [sent] = fake_backend.requests
    trace_hex, span_hex = (
        format(call.context.trace_id, "032x"),
        format(call.context.span_id, "016x"),
    )
    _version, sent_trace, sent_parent, flags = sent.headers["traceparent"].split("-")
    assert (sent_trace, sent_parent) == (trace_hex, span_hex)
    assert int(flags, 16) & 1  # sampled
    assert sent.headers["X-Request-ID"] == "page-1"


async def test_the_503_page_shows_the_trace_id_and_the_span_says_why(traced, fake_backend):
    client, spans = traced
    fake_backend.outage = httpx.ConnectError("connection refused")
    response = await client.get("/users")
    html = await response.get_data(as_text=True)
    assert response.status_code == 503

    page = next(span for span in spans.get_finished_spans() if span.kind is SpanKind.SERVER)
    trace_hex = format(page.context.trace_id, "032x")
    assert f'<code class="trace-id">{trace_hex}</code>' in html
    assert response.headers["X-Request-ID"] in html
    assert page.status.status_code is StatusCode.ERROR
    assert page.status.description == "backend unavailable: backend unreachable (ConnectError)"
    failed_calls = [span for span in spans.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert len(failed_calls) == 2  # a GET is tried twice
    assert all(span.status.status_code is StatusCode.ERROR for span in failed_calls)


async def test_without_tracing_the_error_page_shows_no_trace_id(client, fake_backend):
    fake_backend.outage = httpx.ConnectError("connection refused")
    response = await client.get("/users")
    html = await response.get_data(as_text=True)
    assert response.status_code == 503
    assert "trace-id" not in html
    assert "traceparent" not in fake_backend.requests[0].headers
