"""Traces end to end: real frontend and backend processes, the real database, the stack's own
trace collector and viewer (scripts/trace-collector-run, scripts/trace-viewer-run), and what
the viewer's query API holds afterwards."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from testkit.network import free_port
from testkit.services import BackendProcess, FrontendProcess
from testkit.trace_viewer import Spans, TraceViewer
from testkit.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts"))
# Spans reach the viewer in batches: the services export every OTEL_BSP_SCHEDULE_DELAY ms.
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "200"}
# With nothing listening on the collector's address a page must still answer, and fast: the
# export runs in a background thread. A page takes a few ms here; this bound allows for a busy
# two-core machine, and would be far exceeded by a request waiting on the export (connect and
# export timeouts are seconds).
PAGE_BOUND_SECONDS = 0.5


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraceViewer]:
    running = TraceViewer(tmp_path_factory.mktemp("traces")).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def traced_pair(viewer: TraceViewer, db_env: dict[str, str], tmp_path: Path):
    """A backend and a frontend, each with two workers, exporting to the viewer."""
    otel = {**FAST_EXPORT, "OTEL_EXPORTER_OTLP_ENDPOINT": viewer.otlp_endpoint}
    backend = BackendProcess({**db_env, **otel, "BACKEND_WORKERS": "2"}, tmp_path / "b.log")
    frontend = FrontendProcess("", tmp_path / "f.log", FRONTEND_WORKERS="2", **otel)
    try:
        backend.start()
        frontend.env["FRONTEND_BACKEND_URL"] = backend.url
        frontend.start()
        yield backend, frontend
    finally:
        frontend.stop()
        backend.stop()


def by_name(spans: Spans) -> dict[str, dict]:
    return {f"{span['localEndpoint']['serviceName']} {span['name']}": span for span in spans}


def access_line(process, request_id: str) -> dict:
    def found() -> dict | None:
        return next(
            (
                entry
                for entry in process.log_entries()
                if entry.get("logger", "").endswith(".access")
                and entry.get("request_id") == request_id
            ),
            None,
        )

    return wait_until(found, 10, f"the access line of {request_id}")


def test_one_page_is_one_trace_from_the_frontend_to_the_database(
    traced_pair, viewer: TraceViewer, chromium
) -> None:
    backend, frontend = traced_pair
    response = httpx.get(f"{frontend.url}/users", headers={"X-Request-ID": "trace-e2e-1"})
    assert response.status_code == 200

    frontend_line = access_line(frontend, "trace-e2e-1")
    trace_id = frontend_line["trace_id"]
    # The backend logged the same request (same request id) in the same trace.
    assert access_line(backend, "trace-e2e-1")["trace_id"] == trace_id

    expected = {
        "frontend get /users",  # Zipkin spells span names in lower case
        "frontend get",  # the client span of the call to the API
        "backend get /api/v1/users",
        "backend select users",
    }
    spans = viewer.wait_for_trace(trace_id, lambda spans: expected <= set(by_name(spans)))
    named = by_name(spans)
    assert {span["traceId"] for span in spans} == {trace_id}
    page, call = named["frontend get /users"], named["frontend get"]
    api, statement = named["backend get /api/v1/users"], named["backend select users"]
    assert (page["kind"], call["kind"], api["kind"], statement["kind"]) == (
        "SERVER",
        "CLIENT",
        "SERVER",
        "CLIENT",
    )
    # frontend page -> its call -> the backend's request -> the statement
    assert call["parentId"] == page["id"]
    assert api["parentId"] == call["id"]
    assert statement["parentId"] == api["id"]
    assert page["tags"]["request.id"] == api["tags"]["request.id"] == "trace-e2e-1"
    assert statement["tags"]["db.operation.name"] == "SELECT"
    assert statement["tags"]["db.system.name"] in ("mysql", "mariadb")

    ARTIFACTS.mkdir(exist_ok=True)
    page_view = chromium.new_page(viewport={"width": 1400, "height": 900})
    page_view.goto(f"{viewer.url}/zipkin/traces/{trace_id}")
    page_view.get_by_text("select users", exact=False).first.wait_for(timeout=20_000)
    page_view.screenshot(path=ARTIFACTS / "trace.png", full_page=True)


def test_a_clients_traceparent_puts_the_backend_in_the_clients_trace(
    traced_pair, viewer: TraceViewer
) -> None:
    backend, _frontend = traced_pair
    trace_id, parent_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    response = httpx.get(
        f"{backend.url}/api/v1/users?limit=1",
        headers={"traceparent": f"00-{trace_id}-{parent_id}-01"},
    )
    assert response.status_code == 200
    spans = viewer.wait_for_trace(
        trace_id, lambda spans: "backend get /api/v1/users" in by_name(spans)
    )
    api = by_name(spans)["backend get /api/v1/users"]
    assert api["parentId"] == parent_id


def test_with_the_database_gone_the_backend_span_is_an_error_with_the_reason(
    viewer: TraceViewer, db_env: dict[str, str], tmp_path: Path
) -> None:
    # The database's address with nothing listening: what the backend sees once mysqld is killed.
    gone = {**db_env, "DB_PORT": str(free_port()), "DB_CONNECT_TIMEOUT": "1"}
    otel = {**FAST_EXPORT, "OTEL_EXPORTER_OTLP_ENDPOINT": viewer.otlp_endpoint}
    backend = BackendProcess({**gone, **otel}, tmp_path / "b.log").start("/livez")
    try:
        response = httpx.get(f"{backend.url}/api/v1/users/1", headers={"X-Request-ID": "no-db-1"})
        assert response.status_code == 503
        trace_id = access_line(backend, "no-db-1")["trace_id"]
        [span] = viewer.wait_for_trace(trace_id, bool)
    finally:
        backend.stop()
    assert span["name"] == "get /api/v1/users/{user_id}"
    assert span["tags"]["error"] == "true"
    assert span["tags"]["otel.status_description"].startswith("database unavailable: (2003)")
    assert span["tags"]["error.type"] == "OperationalError"
    assert span["tags"]["http.response.status_code"] == "503"


def test_with_no_collector_listening_pages_still_answer_quickly(
    db_env: dict[str, str], tmp_path: Path
) -> None:
    nowhere = {
        **FAST_EXPORT,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "1",  # seconds, as the Python SDK reads it
    }
    backend = BackendProcess({**db_env, **nowhere}, tmp_path / "b.log").start()
    frontend = FrontendProcess(backend.url, tmp_path / "f.log", **nowhere)
    try:
        frontend.start()
        with httpx.Client(timeout=10) as client:
            for _ in range(3):  # warm up: first connections, first template render
                client.get(f"{frontend.url}/users")
            durations = []
            for _ in range(30):
                started = time.monotonic()
                response = client.get(f"{frontend.url}/users")
                durations.append(time.monotonic() - started)
                assert response.status_code == 200
        # Meanwhile the exports failed, in the background, and the lost spans were counted.
        wait_until(lambda: dropped_spans(f"{backend.url}/metrics") > 0, 30, "dropped spans counted")
    finally:
        frontend.stop()
        backend.stop()
    assert max(durations) < PAGE_BOUND_SECONDS, durations


def dropped_spans(metrics_url: str) -> float:
    for line in httpx.get(metrics_url, timeout=5).text.splitlines():
        if line.startswith('otel_spans_dropped_total{reason="export_failed"}'):
            return float(line.split()[-1])
    return 0.0
