"""`frontend serve` and `frontend healthcheck` as real processes on loopback ports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from frontend.server import PRELOAD
from servicekit.workers import WORKER_MODULES
from testkit.environment import bare_environ
from testkit.imports import modules_imported_after
from testkit.network import free_port
from testkit.pages import csrf_token_in
from testkit.processes import wait_until_gone
from testkit.procfs import descendants, is_running
from testkit.services import FRONTEND_COMMAND, start_frontend
from testkit.waiting import wait_until

# Nothing listens there: every page needing the backend answers 503.
DOWN_BACKEND = f"http://127.0.0.1:{free_port()}"


def metric_total(metrics_text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in metrics_text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{key}="{value}"' in match.group(1) for key, value in labels.items()):
            total += float(match.group(2))
    return total


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        yield client


def test_several_workers_share_metrics_sessions_and_stop_cleanly(tmp_path: Path, http):
    served = start_frontend(DOWN_BACKEND, tmp_path, workers="2")
    try:
        workers = descendants(served.process.pid)
        assert len([pid for pid in workers if is_running(pid)]) >= 2

        # New connections each time, so both workers answer some of them.
        for number in range(20):
            response = httpx.get(
                f"{served.url}/livez",
                headers={"X-Request-ID": f"serve-test-{number}"},
                trust_env=False,
            )
            assert response.status_code == 200
            assert response.headers["X-Request-ID"] == f"serve-test-{number}"

        # Every worker signs sessions with the same key: a form served by one worker is
        # accepted by the other (503 because the backend is down, never a CSRF 400).
        for _ in range(6):
            with httpx.Client(base_url=served.url, trust_env=False) as browser:
                token = csrf_token_in(browser.get("/users/new").text)
                form = {
                    "username": "ana",
                    "full_name": "Ana",
                    "email": "a@b.c",
                    "csrf_token": token,
                }
                assert browser.post("/users/new", data=form).status_code == 503

        metrics = http.get(served.metrics_url)
        assert metrics.status_code == 200
        assert (
            metric_total(metrics.text, "frontend_http_requests_total", route="/livez", status="200")
            >= 20
        )
        assert (
            metric_total(
                metrics.text, "frontend_http_requests_total", route="/users/new", status="503"
            )
            == 6
        )
        assert (
            metric_total(metrics.text, "frontend_backend_requests_total", outcome="unreachable")
            == 6
        )
        assert http.get(f"{served.url}/metrics").status_code == 404
    finally:
        exit_code = served.stop(whole_group=True)

    assert exit_code == 0
    wait_until_gone(workers)
    access = [json.loads(line) for line in served.log_lines() if '"frontend.access"' in line]
    assert any(line["request_id"] == "serve-test-7" for line in access)


def test_one_worker_runs_in_a_single_process(tmp_path: Path, http):
    served = start_frontend(DOWN_BACKEND, tmp_path)
    try:
        assert not [pid for pid in descendants(served.process.pid) if is_running(pid)]
        assert http.get(f"{served.url}/users").status_code == 503
        assert http.get(f"{served.url}/metrics").status_code == 404
        metrics_text = http.get(served.metrics_url).text
        assert metric_total(metrics_text, "frontend_http_requests_total", route="/users") == 1
    finally:
        assert served.stop(whole_group=False) == 0


def test_reload_mode_starts_and_stops_cleanly(tmp_path: Path, http):
    served = start_frontend(DOWN_BACKEND, tmp_path, reload="true")
    try:
        children = descendants(served.process.pid)
        assert children
        assert http.get(f"{served.url}/livez").status_code == 200
    finally:
        exit_code = served.stop(whole_group=False)
    assert exit_code == 0
    wait_until_gone(children)


class GatedBackend:
    """A users API whose answers wait until the test opens the gate."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.gate = threading.Event()
        gated = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gated.received.set()
                gated.gate.wait(timeout=30)
                body = json.dumps(
                    {
                        "id": 1,
                        "username": "ana",
                        "full_name": "Ana Lima",
                        "email": "ana@example.com",
                        "created_at": "2026-11-29T14:00:00Z",
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("workers", "whole_group"),
    [pytest.param("1", False, id="one-worker"), pytest.param("2", True, id="two-workers-group")],
)
def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path, workers, whole_group):
    backend = GatedBackend()
    served = start_frontend(backend.url, tmp_path, workers=workers)
    result: dict[str, httpx.Response] = {}
    try:
        in_flight = threading.Thread(
            target=lambda: result.update(
                page=httpx.get(f"{served.url}/users/1", timeout=20, trust_env=False)
            )
        )
        in_flight.start()
        wait_until(backend.received.is_set, timeout=10, what="the page to call the backend")

        if whole_group:  # what process managers do: every worker gets the signal too
            os.killpg(served.process.pid, signal.SIGTERM)
        else:
            served.process.send_signal(signal.SIGTERM)

        def no_longer_serving() -> bool:
            try:
                httpx.get(f"{served.url}/livez", timeout=0.5, trust_env=False)
            except httpx.TransportError:
                return True
            return False

        wait_until(no_longer_serving, timeout=10, what="the server to stop taking requests")
        assert result == {}, "the request in flight ended before its answer was ready"
        backend.gate.set()
        in_flight.join(timeout=20)
        assert served.process.wait(timeout=20) == 0
    finally:
        served.stop()
        backend.close()

    assert result["page"].status_code == 200
    assert "Ana Lima" in result["page"].text


def test_healthcheck_command(tmp_path: Path):
    served = start_frontend(DOWN_BACKEND, tmp_path)
    try:
        healthy = subprocess.run(
            [*FRONTEND_COMMAND, "healthcheck"],
            env=bare_environ(FRONTEND_PORT=str(served.port)),
            capture_output=True,
            timeout=10,
            check=False,
        )
    finally:
        served.stop()
    unhealthy = subprocess.run(
        [*FRONTEND_COMMAND, "healthcheck"],
        env=bare_environ(FRONTEND_PORT=str(served.port)),
        capture_output=True,
        timeout=10,
        check=False,
    )

    assert healthy.returncode == 0, healthy.stderr
    assert unhealthy.returncode == 1


def test_serve_refuses_production_without_a_secret_key():
    completed = subprocess.run(
        [*FRONTEND_COMMAND, "serve"],
        env=bare_environ(FRONTEND_ENV="production"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert completed.returncode == 2
    assert "FRONTEND_SECRET_KEY is required" in completed.stderr


def test_the_master_imports_all_that_a_worker_needs_to_start(tmp_path: Path):
    """Forked workers share what their master imported (servicekit.workers): building the app
    and starting it (backend client, metrics, tracing) must import nothing of their own."""
    code = """
from frontend.server import build_asgi_app

async def main():
    app = build_asgi_app()
    pages = getattr(app, "pages_app", app)
    await pages.startup()
    await pages.shutdown()
"""
    environ = bare_environ(PROMETHEUS_MULTIPROC_DIR=str(tmp_path), BACKEND_URL=DOWN_BACKEND)
    imported = modules_imported_after((*WORKER_MODULES, "frontend.server", *PRELOAD), code, environ)
    # Left to the worker: anyio's private modules, which its public ones import on first use
    # (naming them would tie the preload to anyio's internals), and small standard ones.
    left = [
        name
        for name in imported
        if not (name.startswith("anyio.") and "._" in name)
        and name.split(".")[0] not in sys.stdlib_module_names
    ]
    assert left == []
