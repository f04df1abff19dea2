"""The whole stack under process-compose: pages, outages, shutdown and restart."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import time

import httpx
import pytest
from running_stack import LONG_RUNNING, ONE_SHOT, Stack
from testkit.procfs import LISTENING, LOOPBACK, tcp_sockets
from testkit.waiting import wait_until

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF_FIELD.search(page.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def submit(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return client.post(path, data={"csrf_token": csrf_token(client, path), **fields})


def status_of(url: str) -> int | None:
    """The HTTP status, or None while nothing answers (a process restarting)."""
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return None


def port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_every_process_is_ready_and_supervised(stack: Stack) -> None:
    states = stack.processes()
    for name in LONG_RUNNING:
        assert states[name]["status"] == "Running"
        assert states[name]["is_ready"] == "Ready"
    for name in ("mysql-setup", "backend-migrate"):
        assert states[name]["exit_code"] == 0
    # Without OBSERVABILITY=1 the stack is the three services and their one-shot steps only.
    assert set(states) == {*LONG_RUNNING, *ONE_SHOT}
    # process-compose's API is on its Unix socket, never on a TCP port such as 8080.
    assert os.path.exists(stack.env["PC_SOCKET_PATH"])


def test_services_listen_on_loopback_only(stack: Stack) -> None:
    for port in stack.ports.values():
        listeners = [
            found.local
            for found in tcp_sockets()
            if found.state == LISTENING and found.local_port == port
        ]
        assert listeners, f"nothing listens on {port}"
        assert all(address.startswith(f"{LOOPBACK}:") for address in listeners), listeners


def test_create_edit_delete_through_the_pages(stack: Stack, browser_client: httpx.Client) -> None:
    username = f"e2e_{secrets.token_hex(4)}"

    created = submit(
        browser_client,
        "/users/new",
        username=username,
        full_name="Ana Lima",
        email="ana@example.com",
    )
    assert created.status_code == 303
    user_path = created.headers["location"]
    assert re.fullmatch(r"/users/\d+", user_path)
    detail = browser_client.get(user_path)
    assert detail.status_code == 200
    assert username in detail.text
    assert "Ana Lima" in detail.text

    listing = browser_client.get("/users", params={"q": username})
    assert username in listing.text

    edited = submit(
        browser_client,
        f"{user_path}/edit",
        username=username,
        full_name="Ana Maria Lima",
        email="ana.maria@example.com",
    )
    assert edited.status_code == 303
    api_user = httpx.get(f"{stack.backend_url}/api/v1{user_path}").json()
    assert api_user["full_name"] == "Ana Maria Lima"
    assert api_user["email"] == "ana.maria@example.com"

    deleted = submit(browser_client, f"{user_path}/delete")
    assert deleted.status_code == 303
    assert deleted.headers["location"].endswith("/users")
    assert httpx.get(f"{stack.backend_url}/api/v1{user_path}").status_code == 404
    assert browser_client.get(user_path).status_code == 404


def first_line(log: list[str], process: str, *containing: str) -> int:
    """Index of the first line of `process` in the stack's log holding each of `containing`."""
    for index, line in enumerate(log):
        if line.endswith(f" process={process} replica=0") and all(
            part in line for part in containing
        ):
            return index
    raise AssertionError(f"no line of {process} with {containing} in the log")


def test_processes_start_in_dependency_order(stack: Stack) -> None:
    """Each process starts only once what it depends on is ready (or has completed)."""
    log = stack.log_text().splitlines()

    mysql_ready = first_line(log, "mysql", "ready for connections")
    assert first_line(log, "mysql-setup") > mysql_ready
    assert first_line(log, "backend-migrate") > first_line(log, "mysql-setup", "are ready")
    assert first_line(log, "backend") > first_line(log, "backend-migrate")
    backend_healthy = first_line(log, "backend", "/healthz", "200")
    assert first_line(log, "frontend") > backend_healthy


def test_api_answers_503_fast_while_mysqld_is_down_and_recovers(stack: Stack) -> None:
    before = stack.processes()["mysql"]["restarts"]
    os.kill(stack.pid_of("mysql"), signal.SIGKILL)

    started = time.monotonic()
    response = httpx.get(f"{stack.backend_url}/api/v1/users", timeout=10)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "retry-after" in response.headers
    assert elapsed < 3.5, f"503 took {elapsed:.2f} s"

    # process-compose restarts mysqld (restart: on_failure), and the backend reconnects by itself.
    wait_until(
        lambda: httpx.get(f"{stack.backend_url}/api/v1/users", timeout=5).status_code == 200,
        60,
        "the API to answer 200 again",
        0.2,
    )
    assert stack.processes()["mysql"]["restarts"] == before + 1
    wait_until(stack.all_ready, 30, "every process to be ready again", 0.2)
    stack.remember_processes()


def test_frontend_shows_503_while_backend_is_down_and_recovers(
    stack: Stack, browser_client: httpx.Client
) -> None:
    frontend_pid = stack.pid_of("frontend")
    backend_pid = stack.pid_of("backend")
    os.killpg(backend_pid, signal.SIGKILL)

    def unavailable_page() -> httpx.Response | None:
        page = browser_client.get("/users")
        return page if page.status_code == 503 else None

    page = wait_until(unavailable_page, 10, "the frontend to answer 503", 0.1)
    assert "text/html" in page.headers["content-type"]
    assert "unavailable" in page.text.lower()
    assert 'href="/users">Try again' in page.text
    assert browser_client.get("/livez").status_code == 200

    wait_until(lambda: browser_client.get("/users").status_code == 200, 60, "the pages again", 0.2)
    # The backend was restarted; the frontend kept running (its liveness probe is /livez).
    assert stack.pid_of("frontend") == frontend_pid
    assert stack.processes()["backend"]["restarts"] >= 1
    wait_until(stack.all_ready, 30, "every process to be ready again", 0.2)
    stack.remember_processes()


def test_metrics_are_on_the_metrics_port_only(stack: Stack) -> None:
    assert httpx.get(f"{stack.metrics_url}/metrics").status_code == 200
    assert httpx.get(f"{stack.frontend_url}/metrics").status_code == 404
    backend_metrics = httpx.get(f"{stack.backend_url}/metrics")
    assert backend_metrics.status_code == 200
    assert re.search(r"^backend_http_requests_total\{", backend_metrics.text, re.MULTILINE)


@pytest.mark.parametrize(
    ("service", "source_file"), [("backend", "backend/app.py"), ("frontend", "frontend/app.py")]
)
def test_live_reload_restarts_a_service_when_its_code_changes(
    stack: Stack, service: str, source_file: str
) -> None:
    """`make up` is development mode: saving a Python file restarts that service by itself."""
    port = stack.ports["BACKEND_PORT" if service == "backend" else "FRONTEND_PORT"]
    started_line = f"Running on http://127.0.0.1:{port} "
    starts = stack.log_text().count(started_line)
    (stack.sources[service] / source_file).touch()  # what saving the file in an editor does
    wait_until(
        lambda: stack.log_text().count(started_line) > starts, 30, f"{service} to restart", 0.2
    )
    wait_until(lambda: status_of(f"http://127.0.0.1:{port}/livez") == 200, 30, "an answer", 0.2)


@pytest.mark.parametrize(
    ("how", "stop"),
    [
        ("process-compose down", Stack.down),
        ("Ctrl-C (SIGINT)", lambda s: s.signal(signal.SIGINT)),
        ("kill (SIGTERM)", lambda s: s.signal(signal.SIGTERM)),
        pytest.param(
            "kill -9 (SIGKILL)",
            lambda s: s.signal(signal.SIGKILL),
            marks=pytest.mark.skipif(
                not shutil.which("setpriv"), reason="needs util-linux's setpriv (Linux)"
            ),
        ),
    ],
)
def test_stop_leaves_nothing_running_and_restart_reuses_the_data(
    new_stack: Stack, how: str, stop
) -> None:
    new_stack.up(f"cold start, then stopped with {how}")
    created = httpx.post(
        f"{new_stack.backend_url}/api/v1/users",
        json={"username": "kept_user", "full_name": "Kept", "email": "kept@example.com"},
    )
    assert created.status_code == 201

    stop(new_stack)
    if "SIGKILL" in how:
        # process-compose could not stop anything: the kernel tells its children (SIGTERM).
        with contextlib.suppress(TimeoutError):  # the assertion below says who is left
            wait_until(lambda: not new_stack.leftovers(), 60, "the orphans to stop", 0.2)
    left = new_stack.leftovers()
    assert left == [], (
        f"left running after {how}: {left}\n{new_stack.log_tail()}\n{new_stack.why_left()}"
    )
    for port in new_stack.ports.values():
        assert not port_is_open(port), f"port {port} still open after {how}"

    # Warm start, in production mode (no reload, one worker per core): the data is still there.
    new_stack.up(f"warm start after {how}", STACK_MODE="production")
    log = new_stack.log_text()  # process-compose starts the log file afresh
    assert "Starting mariadb" in log or "Starting mysql" in log
    assert "Initialising a new" not in log
    found = httpx.get(f"{new_stack.backend_url}/api/v1/users", params={"username": "kept_user"})
    assert [user["username"] for user in found.json()["items"]] == ["kept_user"]
    new_stack.down()
    assert new_stack.leftovers() == []
