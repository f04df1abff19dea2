"""A real `backend serve` while its database goes away and comes back.

Bounds here are the behaviour asked of the service (503 within DB_QUERY_TIMEOUT, never a
hang), not performance measurements.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from testkit.mysql import MySQLServer
from testkit.services import BackendProcess
from testkit.waiting import wait_until

QUERY_TIMEOUT = 3.0  # DB_QUERY_TIMEOUT's default
MARGIN = 1.0  # process scheduling on a busy 2-core machine
RECOVERY_SECONDS = 30.0


def timed_get(url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(url, timeout=30)
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    problem = response.json()
    assert problem["status"] == 503
    assert problem["title"] == "Service Unavailable"


def assert_no_errors_logged(backend: BackendProcess) -> None:
    """An outage is logged as warnings; an error line would mean something broke."""
    assert [entry for entry in backend.log_entries() if entry["level"] == "error"] == []


def status_of(url: str) -> Callable[[], int | None]:
    def probe() -> int | None:
        try:
            return httpx.get(url, timeout=10).status_code
        except httpx.HTTPError:
            return None

    return probe


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_database_outage_gives_fast_503s_then_recovers_without_restart(
    mysql_server: MySQLServer, backend_factory: Callable[..., BackendProcess], how: str
) -> None:
    backend = backend_factory().start()
    created = httpx.post(
        f"{backend.url}/api/v1/users",
        json={"username": f"outage-{how}", "full_name": "Out Age", "email": "o@example.com"},
    )
    assert created.status_code == 201
    user_url = f"{backend.url}/api/v1/users/{created.json()['id']}"
    backend_pid = backend.process.pid

    try:
        if how == "stop":
            mysql_server.stop()
        else:
            mysql_server.kill()

        response, elapsed = timed_get(user_url)
        assert_unavailable(response)
        assert elapsed < QUERY_TIMEOUT + MARGIN
        listed, elapsed = timed_get(f"{backend.url}/api/v1/users")
        assert_unavailable(listed)
        assert elapsed < QUERY_TIMEOUT + MARGIN
        posted = httpx.post(
            f"{backend.url}/api/v1/users",
            json={"username": f"outage-{how}-2", "full_name": "Out Age", "email": "o@example.com"},
            timeout=30,
        )
        assert_unavailable(posted)
        health = httpx.get(f"{backend.url}/healthz", timeout=30)
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable"
        assert "database" in health.json()["reason"]
        assert httpx.get(f"{backend.url}/livez").status_code == 200
    finally:
        mysql_server.start()

    wait_until(lambda: status_of(user_url)() == 200, RECOVERY_SECONDS, "the API to recover")
    assert httpx.get(user_url).json()["username"] == f"outage-{how}"
    assert httpx.get(f"{backend.url}/healthz").status_code == 200
    assert backend.process.poll() is None
    assert backend.process.pid == backend_pid
    metrics = httpx.get(f"{backend.url}/metrics").text
    assert "backend_db_unavailable_total 0.0" not in metrics
    assert_no_errors_logged(backend)


def test_backend_starts_while_the_database_is_down(
    mysql_server: MySQLServer, backend_factory: Callable[..., BackendProcess]
) -> None:
    mysql_server.stop()
    try:
        backend = backend_factory().start(ready_path="/livez")

        response, elapsed = timed_get(f"{backend.url}/api/v1/users")
        assert_unavailable(response)
        assert elapsed < QUERY_TIMEOUT + MARGIN
        assert httpx.get(f"{backend.url}/healthz", timeout=30).status_code == 503
    finally:
        mysql_server.start()

    wait_until(
        lambda: status_of(f"{backend.url}/api/v1/users")() == 200,
        RECOVERY_SECONDS,
        "the API to start answering",
    )
    assert httpx.get(f"{backend.url}/healthz").status_code == 200
    assert_no_errors_logged(backend)


def test_a_frozen_database_never_hangs_requests(
    mysql_server: MySQLServer, backend_factory: Callable[..., BackendProcess]
) -> None:
    timeout = 1.0
    backend = backend_factory(DB_QUERY_TIMEOUT=str(timeout), DB_POOL_SIZE="3").start()
    url = f"{backend.url}/api/v1/users"
    assert httpx.get(url).status_code == 200  # the pool holds a live connection now

    mysql_server.pause()
    try:
        # More requests than pool connections: some wait for the pool, some for the server.
        with ThreadPoolExecutor(max_workers=6) as executor:
            results = list(executor.map(timed_get, [url] * 6))
        for response, elapsed in results:
            assert_unavailable(response)
            assert elapsed < timeout + MARGIN
    finally:
        mysql_server.resume()

    # Connections cut mid-query were discarded, not handed out again broken.
    wait_until(lambda: status_of(url)() == 200, RECOVERY_SECONDS, "the API to recover")
    statuses = [httpx.get(url).status_code for _ in range(6)]
    assert statuses == [200] * 6
    assert_no_errors_logged(backend)
