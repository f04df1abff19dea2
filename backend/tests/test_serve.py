"""`backend serve` and `backend healthcheck` as processes: workers, metrics, shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from backend.cli import PRELOAD
from servicekit.workers import WORKER_MODULES
from testkit.environment import bare_environ
from testkit.imports import modules_imported_after
from testkit.mysql import MySQLServer
from testkit.network import free_port
from testkit.processes import wait_until_gone
from testkit.procfs import is_running
from testkit.services import BackendProcess
from testkit.waiting import wait_until


def metric_samples(text: str) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in (
            line.rsplit(" ", 1) for line in text.splitlines() if line and line[0] != "#"
        )
    }


def test_single_worker_runs_in_one_process_and_exits_cleanly_on_sigterm(
    backend_factory: Callable[..., BackendProcess],
) -> None:
    backend = backend_factory().start()

    assert backend.children() == []
    assert backend.stop() == 0


def test_several_workers_share_metrics_and_leave_no_process_behind(
    backend_factory: Callable[..., BackendProcess], tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_4242.db").write_bytes(b"left by an earlier run")
    backend = backend_factory(
        BACKEND_WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
    ).start()
    workers = wait_until(lambda: len(backend.workers()) == 2 and backend.workers(), 10, "workers")
    children = backend.children()
    # Forked from the master (no resource tracker, which only spawned workers need).
    assert children == sorted(workers)

    assert not (metrics_dir / "counter_4242.db").exists()
    requests = 30
    for _ in range(requests):
        # A new connection each time, so both workers get some of them.
        assert httpx.get(f"{backend.url}/livez", headers={"Connection": "close"}).is_success
    # Every worker writes its own file; the scrape adds them up, whoever answers it. (The
    # master's holds the zeros of what the app's modules define when the master imports them.)
    written_by = {path.stem.rsplit("_", 1)[1] for path in metrics_dir.glob("counter_*.db")}
    assert written_by <= {str(pid) for pid in [*workers, backend.process.pid]}
    samples = metric_samples(httpx.get(f"{backend.url}/metrics").text)
    assert samples['backend_http_requests_total{method="GET",route="/livez",status="200"}'] == (
        requests
    )
    assert samples["backend_db_pool_max_connections"] == 20  # 10 per worker
    build = [name for name in samples if name.startswith("backend_build_info{")]
    assert len(build) == 1
    assert samples[build[0]] == 1

    assert backend.stop() == 0
    wait_until_gone(children)


def test_a_worker_that_dies_stops_the_server_with_a_failure_for_its_supervisor(
    backend_factory: Callable[..., BackendProcess],
) -> None:
    backend = backend_factory(BACKEND_WORKERS="2").start()
    workers = wait_until(lambda: len(backend.workers()) == 2 and backend.workers(), 10, "workers")

    os.kill(workers[0], signal.SIGKILL)

    assert backend.process.wait(30) != 0  # process-compose or Kubernetes restarts it
    wait_until_gone(workers)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_to_the_process_group_lets_an_in_flight_request_finish(
    mysql_server: MySQLServer, backend_factory: Callable[..., BackendProcess], workers: str
) -> None:
    backend = backend_factory(DB_QUERY_TIMEOUT="2", BACKEND_WORKERS=workers).start()
    children = backend.children()
    outcome: dict[str, object] = {}

    def slow_request() -> None:
        try:
            outcome["status"] = httpx.get(f"{backend.url}/api/v1/users", timeout=30).status_code
        except httpx.HTTPError as error:
            outcome["error"] = error

    mysql_server.pause()  # the request now waits for the database
    try:
        thread = threading.Thread(target=slow_request)
        thread.start()
        wait_until(
            lambda: (
                metric_samples(httpx.get(f"{backend.url}/metrics").text).get(
                    "backend_http_requests_in_flight", 0
                )
                >= 2
            ),  # the slow request and this scrape
            10,
            "the request to be in flight",
        )
        # As a supervisor stopping the service does: every process of the group gets it.
        os.killpg(backend.process.pid, signal.SIGTERM)
        thread.join(30)
    finally:
        mysql_server.resume()

    assert outcome == {"status": 503}  # answered (after its time limit), not cut off
    assert backend.process.wait(30) == 0
    wait_until_gone(children)
    assert [entry for entry in backend.log_entries() if entry["level"] == "error"] == []


def test_reload_mode_serves_and_stops_cleanly(
    backend_factory: Callable[..., BackendProcess],
) -> None:
    backend = backend_factory(BACKEND_RELOAD="true").start()
    [worker] = wait_until(lambda: backend.workers(), 10, "the reloader's worker")
    children = backend.children()

    assert httpx.get(f"{backend.url}/healthz").status_code == 200
    assert backend.stop() == 0
    assert not is_running(worker)
    wait_until_gone(children)


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "healthcheck"],
        env=bare_environ(BACKEND_PORT=str(port)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthcheck_command(live_backend_process: BackendProcess) -> None:
    started = time.monotonic()
    assert run_healthcheck(live_backend_process.port).returncode == 0
    assert run_healthcheck(free_port()).returncode == 1
    assert time.monotonic() - started < 20


def test_serve_refuses_the_development_password_in_production() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "serve"],
        env=bare_environ(BACKEND_ENV="production", BACKEND_PORT="0"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.startswith("backend serve: invalid configuration:")
    assert "needs a real DB_PASSWORD" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("prefix", ["/api/v1", ""])
def test_served_204_has_no_body_and_no_content_type(
    live_backend_process: BackendProcess, prefix: str
) -> None:
    """Checked on the wire: Quart's test client re-creates responses with a default type."""
    created = httpx.post(
        f"{live_backend_process.url}/api/v1/users",
        json={"username": f"no_body{prefix.count('/')}", "full_name": "N B", "email": "n@b.io"},
    )
    assert created.status_code == 201

    deleted = httpx.delete(f"{live_backend_process.url}{prefix}/users/{created.json()['id']}")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert "content-type" not in deleted.headers


def test_the_master_imports_all_that_a_worker_needs_to_start(tmp_path: Path) -> None:
    """Forked workers share what their master imported (servicekit.workers): building the app
    and starting it (pool, metrics task, tracing) must import nothing of their own."""
    code = """
from backend.app import create_app

async def main():
    app = create_app()
    await app.startup()
    await app.shutdown()
"""
    environ = bare_environ(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    assert modules_imported_after((*WORKER_MODULES, "backend.cli", *PRELOAD), code, environ) == []
