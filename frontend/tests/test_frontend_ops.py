"""Operations: /livez, /healthz, metrics on the metrics port only, the access log, 500s."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from frontend.app import create_app
from frontend.lib.metrics import MetricsApp
from frontend.server import PortRouter
from frontend.settings import Settings
from quart import Quart
from servicekit.logs import JsonFormatter
from testkit.fake_backend import FakeBackend, problem

METRICS_PORT = 18001
PAGES_PORT = 18000


async def test_livez_answers_without_the_backend(client, fake_backend: FakeBackend):
    fake_backend.outage = httpx.ConnectError("connection refused")

    response = await client.get("/livez")

    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}
    assert fake_backend.requests == []


async def test_healthz_is_ok_when_the_backend_is_healthy(client, fake_backend):
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok", "backend": "ok"}
    assert [request.url.path for request in fake_backend.requests] == ["/healthz"]


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.ConnectError("connection refused"), "backend unreachable (ConnectError)"),
        (httpx.ReadTimeout("timed out"), "backend timed out"),
        (problem(503, "database unavailable"), "backend health answered 503: database unavailable"),
    ],
)
async def test_healthz_is_503_with_the_reason(client, fake_backend, failure, reason):
    fake_backend.outage = failure

    response = await client.get("/healthz")

    assert response.status_code == 503
    body = await response.get_json()
    assert body["status"] == "unavailable"
    assert body["reason"] == reason
    # Health is probed once: a retry would only hide a flapping backend.
    assert len(fake_backend.requests) == 1


# -- metrics --------------------------------------------------------------------------------


@pytest.fixture
async def router(app: Quart) -> PortRouter:
    return PortRouter(app, MetricsApp(), METRICS_PORT)


def http_client(router: PortRouter, port: int) -> httpx.AsyncClient:
    # ASGITransport puts the URL's host and port in scope["server"], like Hypercorn does.
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=router), base_url=f"http://127.0.0.1:{port}"
    )


async def test_metrics_are_served_on_the_metrics_port(router, fake_backend):
    fake_backend.add_user("ana")
    async with http_client(router, PAGES_PORT) as pages:
        assert (await pages.get("/users/1")).status_code == 200
        assert (await pages.get("/users/999")).status_code == 404

    async with http_client(router, METRICS_PORT) as metrics:
        response = await metrics.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'frontend_http_requests_total{method="GET",route="/users/{user_id}",status="200"}' in text
    )
    assert 'route="/users/{user_id}",status="404"' in text
    assert "frontend_http_request_duration_seconds_bucket{" in text
    assert 'frontend_backend_requests_total{operation="get_user",outcome="success"}' in text
    assert 'frontend_backend_requests_total{operation="get_user",outcome="client_error"}' in text
    assert "frontend_backend_request_duration_seconds_bucket{" in text


async def test_metrics_count_backend_failures_by_outcome(router, fake_backend):
    fake_backend.outage = httpx.ConnectError("connection refused")
    async with http_client(router, PAGES_PORT) as pages:
        await pages.get("/users/1")
    async with http_client(router, METRICS_PORT) as metrics:
        text = (await metrics.get("/metrics")).text

    assert 'frontend_backend_requests_total{operation="get_user",outcome="unreachable"}' in text


async def test_metrics_are_not_on_the_pages_port(router):
    async with http_client(router, PAGES_PORT) as pages:
        response = await pages.get("/metrics")

    assert response.status_code == 404
    assert "frontend_http_requests_total" not in response.text


async def test_the_metrics_port_serves_nothing_but_metrics(router):
    async with http_client(router, METRICS_PORT) as metrics:
        assert (await metrics.get("/users")).status_code == 404
        assert (await metrics.get("/livez")).status_code == 404
        assert (await metrics.post("/metrics")).status_code == 405


# -- access log -----------------------------------------------------------------------------


async def test_access_log_line_is_json_with_the_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="frontend.access"):
        await client.get("/users/new", headers={"X-Request-ID": "log-me-1"})

    records = [record for record in caplog.records if record.name == "frontend.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "log-me-1"
    assert line["method"] == "GET"
    assert line["path"] == "/users/new"
    assert line["route"] == "/users/new"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["level"] == "info"


# -- unexpected errors ----------------------------------------------------------------------


async def test_an_unexpected_error_is_a_500_page_without_traceback(fake_backend):
    app = create_app(Settings(secret_key="k"), transport=fake_backend.transport)

    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("secret internal detail")

    async with app.test_app():
        response = await app.test_client().get("/boom")
    html = await response.get_data(as_text=True)

    assert response.status_code == 500
    assert "Something went wrong" in html
    assert 'class="site-header"' in html
    assert "secret internal detail" not in html
    assert "Traceback" not in html
    assert response.headers["Content-Security-Policy"]


async def test_an_oversized_form_is_refused(client, fake_backend):
    response = await client.post("/users/new", form={"full_name": "x" * 100_000})

    assert response.status_code == 413
    assert fake_backend.requests == []
