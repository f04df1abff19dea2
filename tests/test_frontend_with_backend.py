"""The pages against the real backend and a throwaway MySQL server (no mocks)."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator

import pytest
from frontend.app import create_app
from frontend.lib.backend_client import CONNECTIONS_PER_POOL, POOLS
from frontend.settings import Settings
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient
from testkit.pages import csrf_token_in, page
from testkit.procfs import connections_to

_numbers = itertools.count()


@pytest.fixture
def unique() -> str:
    """A username (and search term) no other test uses."""
    return f"it{os.getpid() % 10000}n{next(_numbers)}"


@pytest.fixture
async def real_app(live_backend: str) -> AsyncIterator[Quart]:
    app = create_app(Settings(backend_url=live_backend, secret_key="integration"))
    async with app.test_app():
        yield app


@pytest.fixture
def browser(real_app: Quart) -> QuartClient:
    return real_app.test_client()


async def post_form(client: QuartClient, path: str, form: dict[str, str]):
    _, html = await page(client, path)
    return await client.post(path, form={**form, "csrf_token": csrf_token_in(html)})


async def test_create_list_search_edit_delete(browser: QuartClient, unique: str, empty_users_table):
    # Create.
    response = await post_form(
        browser,
        "/users/new",
        {"username": unique, "full_name": "Ana <b>Lima</b>", "email": f"{unique}@example.com"},
    )
    assert response.status_code == 303
    user_path = response.headers["Location"]
    assert user_path.startswith("/users/")
    status, html = await page(browser, user_path)
    assert status == 200
    assert f"User “{unique}” was created." in html
    assert "Ana &lt;b&gt;Lima&lt;/b&gt;" in html

    # List (the table was emptied first).
    status, html = await page(browser, "/users")
    assert status == 200
    assert "1 user<" in html
    assert f'href="{user_path}">{unique}</a>' in html

    # Search.
    status, html = await page(browser, f"/users?q={unique.upper()}")
    assert status == 200
    assert "1 user matching" in html
    assert f'href="{user_path}"' in html
    _, html = await page(browser, f"/users?q={unique}-nobody")
    assert "No users match" in html

    # Edit: the form is pre-filled from the backend, the change is saved.
    status, html = await page(browser, f"{user_path}/edit")
    assert status == 200
    assert f'value="{unique}@example.com"' in html
    response = await post_form(
        browser,
        f"{user_path}/edit",
        {"username": unique, "full_name": "Ana Maria Lima", "email": f"am.{unique}@example.com"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == user_path
    _, html = await page(browser, user_path)
    assert f"User “{unique}” was updated." in html
    assert "Ana Maria Lima" in html
    assert f"am.{unique}@example.com" in html

    # Delete, after the confirmation page.
    status, html = await page(browser, f"{user_path}/delete")
    assert status == 200
    assert f"Delete {unique}?" in html
    response = await post_form(browser, f"{user_path}/delete", {})
    assert response.status_code == 303
    assert response.headers["Location"] == "/users"
    _, html = await page(browser, "/users")
    assert "was deleted." in html
    status, _ = await page(browser, user_path)
    assert status == 404


async def test_backend_validation_errors_show_next_to_each_field(browser, unique):
    response = await post_form(
        browser, "/users/new", {"username": "a!", "full_name": "   ", "email": "not-an-address"}
    )
    html = await response.get_data(as_text=True)

    assert response.status_code == 422
    for name in ("username", "full_name", "email"):
        assert f'id="{name}-error"' in html, name
    assert 'value="a!"' in html
    assert 'value="not-an-address"' in html


async def test_a_taken_username_is_reported_on_the_username_field(browser, unique):
    form = {"username": unique, "full_name": "First", "email": f"{unique}@example.com"}
    assert (await post_form(browser, "/users/new", form)).status_code == 303

    response = await post_form(browser, "/users/new", {**form, "username": unique.upper()})
    html = await response.get_data(as_text=True)

    assert response.status_code == 409
    assert 'id="username-error"' in html
    assert "username is already taken" in html
    assert f'value="{unique.upper()}"' in html


async def test_home_and_health_report_the_real_backend(browser, unique):
    status, html = await page(browser, "/")
    assert status == 200
    assert "Operational" in html
    assert "Connected" in html

    health = await browser.get("/healthz")
    assert health.status_code == 200
    assert await health.get_json() == {"status": "ok", "backend": "ok"}


async def test_unknown_user_is_a_404_page(browser):
    status, html = await page(browser, "/users/987654321")

    assert status == 404
    assert "We could not find that page" in html


async def test_database_outage_is_a_503_and_recovers(browser, mysql_server, unique):
    form = {"username": unique, "full_name": "Outage Test", "email": f"{unique}@example.com"}
    _, form_page = await page(browser, "/users/new")
    mysql_server.stop()
    try:
        started = time.monotonic()
        status, html = await page(browser, "/users")
        assert status == 503
        assert "Try again" in html
        assert time.monotonic() - started < 10

        response = await browser.post(
            "/users/new", form={**form, "csrf_token": csrf_token_in(form_page)}
        )
        html = await response.get_data(as_text=True)
        assert response.status_code == 503
        assert f'value="{unique}"' in html
        assert 'value="Outage Test"' in html

        health = await browser.get("/healthz")
        assert health.status_code == 503
        assert "database" in (await health.get_json())["reason"]
    finally:
        mysql_server.start()

    async def users_page_is_back() -> bool:
        return (await browser.get("/users")).status_code == 200

    deadline = time.monotonic() + 30
    while not await users_page_is_back():
        assert time.monotonic() < deadline, "the pages did not recover after the DB came back"
        await asyncio.sleep(0.1)  # poll interval, bounded by the deadline
    response = await post_form(browser, "/users/new", form)
    assert response.status_code == 303


async def test_concurrent_pages_reuse_connections_and_stopping_closes_them(live_backend: str):
    """The backend client's pools (frontend.lib.backend_client): many pages at once all
    answer, over kept connections, and none is left open once the app stops serving."""
    port = int(live_backend.rsplit(":", 1)[1])
    app = create_app(Settings(backend_url=live_backend, secret_key="integration"))
    async with app.test_app():
        client = app.test_client()
        for _burst in range(3):
            pages = await asyncio.gather(*(client.get("/users") for _ in range(40)))
            assert [response.status_code for response in pages] == [200] * 40
        kept = connections_to(port)
        assert 1 < kept <= POOLS * CONNECTIONS_PER_POOL
    assert connections_to(port) == 0
