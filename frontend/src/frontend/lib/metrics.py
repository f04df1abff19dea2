"""Prometheus metrics, shared by every Hypercorn worker through the multiprocess directory.

`frontend serve` points PROMETHEUS_MULTIPROC_DIR at an empty directory before the workers
start; prometheus_client then writes each worker's samples there, and the metrics listener
aggregates all of them, whichever worker answers the scrape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from servicekit.metrics_dir import multiprocess_registry

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "frontend_http_requests_total",
    "Pages and endpoints served, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "frontend_http_request_duration_seconds",
    "Time to answer a request, by method, route template and status.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
BACKEND_CALLS = Counter(
    "frontend_backend_requests_total",
    "Calls to the users API, by operation and outcome (each retry counts).",
    ["operation", "outcome"],
)
BACKEND_LATENCY = Histogram(
    "frontend_backend_request_duration_seconds",
    "Duration of calls to the users API, by operation and outcome.",
    ["operation", "outcome"],
    buckets=LATENCY_BUCKETS,
)

ANSWER_CACHE = Counter(
    "frontend_backend_answer_cache_total",
    "GET answers of the users API stored (new body) or revalidated (304, stored body reused).",
    ["operation", "result"],
)


# What servicekit.app reports of each page (this module is its RequestMetrics); pages in
# flight are not counted.
def request_started() -> None:
    pass


def request_finished() -> None:
    pass


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    labels = {"method": method, "route": route, "status": str(status)}
    HTTP_REQUESTS.labels(**labels).inc()
    HTTP_LATENCY.labels(**labels).observe(seconds)


def observe_backend_call(operation: str, outcome: str, seconds: float) -> None:
    BACKEND_CALLS.labels(operation=operation, outcome=outcome).inc()
    BACKEND_LATENCY.labels(operation=operation, outcome=outcome).observe(seconds)


def observe_answer_cache(operation: str, result: str) -> None:
    ANSWER_CACHE.labels(operation=operation, result=result).inc()


class MetricsApp:
    """A minimal ASGI app answering GET /metrics (and 404 for anything else)."""

    def __init__(self) -> None:
        self.registry = multiprocess_registry()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != "/metrics":
            await _send(send, 404, b"not found\n", b"text/plain; charset=utf-8")
        elif scope["method"] not in ("GET", "HEAD"):
            await _send(send, 405, b"method not allowed\n", b"text/plain; charset=utf-8")
        else:
            body = generate_latest(self.registry)
            await _send(send, 200, body, CONTENT_TYPE_LATEST.encode())


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
