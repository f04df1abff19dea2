"""Prometheus metrics, correct with several Hypercorn workers.

With PROMETHEUS_MULTIPROC_DIR set (as `backend serve` does) every worker writes its values to
files there and /metrics adds them up, whichever worker answers the scrape. The variable must
be set before prometheus_client is imported: `backend serve` sets it before it imports the app.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import CounterMetricFamily, Metric
from servicekit.metrics_dir import multiprocess_registry

from backend import __version__

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_LABELS = ("method", "route", "status")
REQUEST_DURATION_NAME = "backend_http_request_duration_seconds"
REQUEST_DURATION = Histogram(
    REQUEST_DURATION_NAME,
    "Time to answer an HTTP request, by method, route template and status.",
    REQUEST_LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
# backend_http_requests_total is not a metric of its own: see RequestTotals.
REQUESTS_TOTAL_NAME = "backend_http_requests"
REQUESTS_TOTAL_HELP = "HTTP requests answered, by method, route template and status."
IN_FLIGHT = Gauge(
    "backend_http_requests_in_flight",
    "HTTP requests being answered right now.",
    multiprocess_mode="livesum",
)
DB_POOL_CONNECTIONS = Gauge(
    "backend_db_pool_connections",
    "Database connections held by the pools, by state (in_use or free).",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_MAX = Gauge(
    "backend_db_pool_max_connections",
    "Upper bound of the database pools (DB_POOL_SIZE per worker).",
    multiprocess_mode="livesum",
)
DB_UNAVAILABLE = Counter(
    "backend_db_unavailable_total",
    "Requests answered 503 because the database was down, slow or not migrated.",
)
DB_WORK_DURATION = Histogram(
    "backend_db_query_duration_seconds",
    "Time a request holds a database connection for its statements (pool wait included).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
BUILD_INFO = Gauge(
    "backend_build_info",
    "Always 1; the labels tell the version running.",
    ["version", "python"],
    multiprocess_mode="max",
)


class Pool(Protocol):
    """Where the pool figures come from (backend.lib.db.Database), named by shape, not imported."""

    def pool_stats(self) -> dict[str, int]: ...


_POOL_IN_USE = DB_POOL_CONNECTIONS.labels(state="in_use")
_POOL_FREE = DB_POOL_CONNECTIONS.labels(state="free")

# Kept in memory and published with the pool figures: each multiprocess write costs a file
# write on the request path (bench/README.md, "Why the code looks the way it does").
_requests_in_flight = 0

# Label children are cached: .labels() costs more than the observation itself.
_children: dict[tuple[str, str, str], Histogram] = {}


def request_started() -> None:
    global _requests_in_flight
    _requests_in_flight += 1


def request_finished() -> None:
    global _requests_in_flight
    _requests_in_flight -= 1


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method if method in KNOWN_METHODS else "OTHER", route, str(status))
    child = _children.get(key)
    if child is None:
        child = _children[key] = REQUEST_DURATION.labels(*key)
    child.observe(seconds)


def publish_build_info() -> None:
    """Once in each worker: workers forked from the master after it imported this module
    start from empty figures of their own."""
    BUILD_INFO.labels(version=__version__, python=platform.python_version()).set(1)


def publish_figures(pool: Pool) -> None:
    """This process's in-flight requests and pool, every second and before each scrape."""
    IN_FLIGHT.set(_requests_in_flight)
    stats = pool.pool_stats()
    _POOL_IN_USE.set(stats["in_use"])
    _POOL_FREE.set(stats["free"])
    DB_POOL_MAX.set(stats["max"])


class RequestTotals:
    """The metrics of a registry, plus backend_http_requests_total: a counter by method, route
    and status read off the duration histogram's counts when /metrics is rendered."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            yield metric
            if metric.name == REQUEST_DURATION_NAME:
                totals = CounterMetricFamily(
                    REQUESTS_TOTAL_NAME, REQUESTS_TOTAL_HELP, labels=REQUEST_LABELS
                )
                for sample in metric.samples:
                    if sample.name.endswith("_count"):
                        labels = [sample.labels[name] for name in REQUEST_LABELS]
                        totals.add_metric(labels, sample.value)
                yield totals


def render() -> tuple[bytes, str]:
    registry = multiprocess_registry() if MULTIPROCESS else REGISTRY
    return generate_latest(RequestTotals(registry)), CONTENT_TYPE_LATEST


def forget_this_process() -> None:
    """Drop this worker's live gauges (in-flight, pool) when it stops."""
    if MULTIPROCESS:
        prometheus_multiprocess.mark_process_dead(os.getpid())
