"""Traces (OpenTelemetry): the SDK in each worker, one server span per request, ids for logs.

Configured by the standard variables only: tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT`
(or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and `OTEL_SDK_DISABLED` is not true; the
sampler (`OTEL_TRACES_SAMPLER`, `_ARG`), the resource (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`), the propagators and the batch limits (`OTEL_BSP_*`; larger
defaults for the queue and the batch, see `export_limits`) are read by the SDK itself. Off, no
SDK is started and a request pays for one `is None` check.

Spans leave through a BatchSpanProcessor: ended spans go into a bounded queue that a
background thread exports over OTLP/HTTP, so a collector that is down or slow never holds up a
request. What cannot be queued or exported is dropped and counted in
`otel_spans_dropped_total{reason}` (`queue_full`, `export_failed`).

The server span is written here rather than by the ASGI instrumentation: Quart has no
instrumentation of its own, and only inside `handle_request` are the route template and the
request id known (the ASGI middleware names its span before routing and adds a span per
`send` and `receive`).
"""

from __future__ import annotations

import collections
import functools
import logging
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

logger = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
REQUEST_ID_ATTRIBUTE = "request.id"

_tracer: Tracer | None = None
_provider: Any = None  # opentelemetry.sdk.trace.TracerProvider, imported only when tracing


def tracing_configured(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces: an OTLP endpoint, and the SDK not disabled."""
    disabled = environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    return not disabled and any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def tracer() -> Tracer | None:
    """This process's tracer, or None when tracing is off (the hot paths check this)."""
    return _tracer


def tracer_provider() -> Any:
    """The SDK's TracerProvider of this process (for instrumentations), or None when off."""
    return _provider


def start_tracing(service: str, *, exporter: Any = None) -> bool:
    """Start the SDK in this process (each worker, after the fork) if the environment asks for
    it, or with `exporter` (tests: an in-memory one, exported synchronously). `service` is the
    `service.name` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name one."""
    global _tracer, _provider
    if _tracer is not None:
        return True
    if exporter is None and not tracing_configured():
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service}))
    provider = TracerProvider(resource=resource)
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        counting_processor, counting_exporter = counting_classes()
        processor = counting_processor(counting_exporter(OTLPSpanExporter()))
    else:
        processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    _provider = provider
    _tracer = provider.get_tracer("servicekit")
    logger.info(
        "tracing on",
        extra={"service_name": resource.attributes.get(SERVICE_NAME), "exporter": _exporter_name()},
    )
    return True


def stop_tracing(timeout_millis: int = 2000) -> None:
    """Export what is queued (for at most `timeout_millis`) and stop the SDK."""
    global _tracer, _provider
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.force_flush(timeout_millis)
        provider.shutdown()


def _exporter_name() -> str:
    return next((os.environ[name] for name in ENDPOINT_VARIABLES if os.environ.get(name)), "test")


# -- spans ------------------------------------------------------------------------------------


class _HeadersGetter(Getter[Any]):
    """Reads a request's headers for the propagators without an exception per absent header
    (Werkzeug's `Headers.get` raises and catches one: `traceparent` and `baggage` are absent
    from most requests)."""

    def get(self, carrier: Any, key: str) -> list[str] | None:
        return carrier.getlist(key) or None

    def keys(self, carrier: Any) -> list[str]:
        return list(carrier.keys())


_headers_getter = _HeadersGetter()


def server_span(
    active: Tracer, method: str, path: str, headers: Any
) -> AbstractContextManager[Span]:
    """The span of one request, current while it is answered; it continues the caller's trace
    when the headers carry a W3C `traceparent`. Named `method` until `name_server_span`."""
    span = active.start_span(
        method,
        context=propagate.extract(headers, getter=_headers_getter),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "url.path": path},
    )
    # Errors become responses inside Quart; the status is set from the response.
    return trace.use_span(
        span, end_on_exit=True, record_exception=False, set_status_on_exception=False
    )


def name_server_span(span: Span, method: str, route: str, status: int, request_id: str) -> None:
    """Name the span by route template once routing is done, and record the outcome."""
    if not span.is_recording():
        return
    span.update_name(f"{method} {route}")
    span.set_attributes(
        {
            "http.route": route,
            "http.response.status_code": status,
            REQUEST_ID_ATTRIBUTE: request_id,
        }
    )
    if status >= 500 and _status_unset(span):
        span.set_status(Status(StatusCode.ERROR, f"answered {status}"))


def mark_current_span_failed(reason: str, error: BaseException | None = None) -> None:
    """Mark the current span as failed with `reason` (and the error's type), e.g. a 503."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.set_status(Status(StatusCode.ERROR, reason))
    if error is not None:
        span.set_attribute("error.type", type(error).__qualname__)


def _status_unset(span: Span) -> bool:
    status = getattr(span, "status", None)
    return status is None or status.status_code is StatusCode.UNSET


def current_trace_id() -> str:
    """The trace id of the request being answered when its trace is recorded, else ''."""
    context = trace.get_current_span().get_span_context()
    recorded = context.is_valid and context.trace_flags.sampled
    return format(context.trace_id, "032x") if recorded else ""


# -- export, and what it drops ------------------------------------------------------------------


_dropped: Any = None


def _dropped_counter() -> Any:
    global _dropped
    if _dropped is None:
        from prometheus_client import Counter

        _dropped = Counter(
            "otel_spans_dropped",
            "Spans not exported: the export queue was full, or the collector refused or failed.",
            ["reason"],
        )
    return _dropped


def _queue_of(processor: Any) -> Any:
    """The batch processor's queue: its home moved between SDK releases."""
    inner = getattr(processor, "_batch_processor", processor)
    for name in ("_queue", "queue"):
        queue = getattr(inner, name, None)
        if isinstance(queue, collections.deque):
            return queue
    return None


# Larger than the SDK's (queue 2,048, batch 512): under load a worker then exports once per
# schedule delay (5 s) instead of every 512 spans: 0.03-0.08 more of the backend's throughput
# sampled at 0.1 in three of four comparisons (bench/README.md). A developer's clicks export
# as before.
MAX_QUEUE_SIZE = 4096
MAX_EXPORT_BATCH_SIZE = 2048


def export_limits(environ: os._Environ[str] | dict[str, str] = os.environ) -> dict[str, int]:
    """The batch processor's queue and batch sizes that `OTEL_BSP_MAX_QUEUE_SIZE` and
    `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` do not set (the SDK reads those itself); a batch never
    exceeds the queue."""
    limits: dict[str, int] = {}
    queue_variable = environ.get("OTEL_BSP_MAX_QUEUE_SIZE", "").strip()
    if not queue_variable:
        limits["max_queue_size"] = MAX_QUEUE_SIZE
    if not environ.get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "").strip():
        queue = limits.get("max_queue_size") or _positive_int(queue_variable, 2048)
        limits["max_export_batch_size"] = min(MAX_EXPORT_BATCH_SIZE, queue)
    return limits


def _positive_int(text: str, default: int) -> int:
    """A size from a variable's text: the number, else `default` (the SDK's, which it also
    takes for a text that is no number; a size of 0 or less it refuses itself)."""
    try:
        value = int(text)
    except ValueError:
        return default
    return value if value > 0 else default


@functools.cache
def counting_classes() -> tuple[type, type]:
    """The batch processor and the exporter wrapper that count drops (built on first use:
    the SDK is imported only by a process that traces)."""
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class CountingBatchSpanProcessor(BatchSpanProcessor):
        """A BatchSpanProcessor that counts the spans its full queue pushes out."""

        def __init__(self, exporter: SpanExporter) -> None:
            super().__init__(exporter, **export_limits())
            self._queue = _queue_of(self)
            self._dropped = _dropped_counter().labels(reason="queue_full")

        def on_end(self, span: Any) -> None:
            queue = self._queue
            if queue is not None and queue.maxlen is not None and len(queue) >= queue.maxlen:
                self._dropped.inc()
            super().on_end(span)

    class CountingExporter(SpanExporter):
        """The OTLP exporter, counting the spans of every batch it could not deliver."""

        def __init__(self, exporter: SpanExporter) -> None:
            self._exporter = exporter
            self._dropped = _dropped_counter().labels(reason="export_failed")

        def export(self, spans: Sequence[Any]) -> Any:
            try:
                result = self._exporter.export(spans)
            except Exception:  # never let the export thread die
                logger.warning("span export failed", exc_info=True)
                result = SpanExportResult.FAILURE
            if result is not SpanExportResult.SUCCESS:
                self._dropped.inc(len(spans))
            return result

        def shutdown(self) -> None:
            self._exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return self._exporter.force_flush(timeout_millis)

    return CountingBatchSpanProcessor, CountingExporter
