"""The stack's trace collector and viewer, started from its own scripts on free ports.

`scripts/trace-viewer-run` (Zipkin) and `scripts/trace-collector-run` (the OpenTelemetry
Collector in front of it, OTLP/HTTP in): the services send to `otlp_endpoint`, and the viewer's
query API (`/api/v2`) tells what arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from testkit.environment import scrubbed_environ
from testkit.processes import ServerProcess
from testkit.project import scripts_dir
from testkit.waiting import wait_until

Spans = list[dict[str, Any]]


class _Viewer(ServerProcess):
    port_variables = ("TRACE_VIEWER_PORT",)


class _Collector(ServerProcess):
    port_variables = ("TRACE_COLLECTOR_HEALTH_PORT", "TRACE_COLLECTOR_PORT")


class TraceViewer:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.viewer = _Viewer(
            "trace-viewer",
            ["bash", str(scripts_dir() / "trace-viewer-run")],
            scrubbed_environ(),
            log_dir / "trace-viewer.log",
        )
        self.collector: _Collector | None = None

    def start(self) -> TraceViewer:
        self.viewer.start("/health", timeout=120)
        self.collector = _Collector(
            "trace-collector",
            ["bash", str(scripts_dir() / "trace-collector-run")],
            scrubbed_environ(TRACE_VIEWER_PORT=str(self.viewer.port)),
            self.log_dir / "trace-collector.log",
        )
        self.collector.start("/", timeout=60)
        return self

    def stop(self) -> None:
        if self.collector is not None:
            self.collector.stop()
        self.viewer.stop()

    @property
    def otlp_endpoint(self) -> str:
        assert self.collector is not None, "not started"
        return f"http://127.0.0.1:{self.collector.ports['TRACE_COLLECTOR_PORT']}"

    @property
    def url(self) -> str:
        return self.viewer.url

    def trace(self, trace_id: str) -> Spans:
        """The spans the viewer holds of one trace (none yet: an empty list)."""
        response = httpx.get(f"{self.url}/api/v2/trace/{trace_id}", timeout=5)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return response.json()

    def wait_for_trace(
        self, trace_id: str, complete: Callable[[Spans], bool], timeout: float = 30
    ) -> Spans:
        """The trace once `complete(spans)` holds: spans arrive in batches, from each service."""
        found: Spans = []

        def arrived() -> bool:
            nonlocal found
            found = self.trace(trace_id)
            return complete(found)

        wait_until(arrived, timeout, f"trace {trace_id} in the viewer (so far: {found})")
        return found

    def trace_count(self, service: str) -> int:
        """How many traces of `service` the viewer holds (up to 10,000)."""
        response = httpx.get(
            f"{self.url}/api/v2/traces",
            params={"serviceName": service, "limit": 10000, "lookback": 86_400_000},
            timeout=30,
        )
        response.raise_for_status()
        return len(response.json())
