"""Pages when the backend fails, the retry of GETs and the time budget of every call."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from frontend.app import create_app
from frontend.settings import Settings
from quart import Quart
from testkit.fake_backend import problem
from testkit.pages import NEW_USER, csrf_token_in, page

# -- backend failures on pages and the GET retry --------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(httpx.ConnectError("connection refused"), id="connection-refused"),
        pytest.param(httpx.ConnectTimeout("connect timed out"), id="connect-timeout"),
        pytest.param(httpx.ReadTimeout("timed out"), id="read-timeout"),
        pytest.param(problem(503, "database unavailable"), id="503"),
        pytest.param(httpx.Response(502, text="bad gateway"), id="502"),
        pytest.param(httpx.Response(200, text="not json"), id="garbage"),
    ],
)
async def test_pages_answer_503_with_a_retry_link_when_backend_fails(client, fake_backend, failure):
    fake_backend.outage = failure

    response = await client.get("/users?q=ana&page=2")
    html = await response.get_data(as_text=True)

    assert response.status_code == 503
    assert "The service is temporarily unavailable" in html
    assert 'href="/users?q=ana&amp;page=2">Try again' in html
    assert 'class="site-header"' in html
    assert "Traceback" not in html


async def test_a_get_is_retried_once_after_a_connection_failure(client, fake_backend):
    fake_backend.add_user("ana", "Ana Lima")
    fake_backend.queued_failures.append(httpx.ConnectError("connection reset"))

    status, html = await page(client, "/users")

    assert status == 200
    assert "Ana Lima" in html
    assert [request.method for request in fake_backend.api_requests()] == ["GET", "GET"]


async def test_a_get_is_not_retried_more_than_once(client, fake_backend):
    fake_backend.outage = httpx.ConnectError("connection refused")

    status, _ = await page(client, "/users/1")

    assert status == 503
    assert len(fake_backend.api_requests()) == 2


async def test_a_post_is_not_retried(client, fake_backend):
    _, html = await page(client, "/users/new")
    fake_backend.queued_failures.append(httpx.ConnectError("connection reset"))

    response = await client.post("/users/new", form={**NEW_USER, "csrf_token": csrf_token_in(html)})

    assert response.status_code == 503
    assert [request.method for request in fake_backend.api_requests()] == ["POST"]
    assert fake_backend.users == {}


async def test_a_backend_call_never_exceeds_its_time_budget(fake_backend):
    never = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("unreachable")

    fake_backend.outage = hang
    settings = Settings(backend_url="http://backend.test", secret_key="k", backend_timeout=0.2)
    app: Quart = create_app(settings, transport=fake_backend.transport)
    async with app.test_app():
        response = await app.test_client().get("/users")

    assert response.status_code == 503
    assert "temporarily unavailable" in await response.get_data(as_text=True)
