"""The users pages against an in-memory backend: home, list, search, detail, errors."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from frontend.blueprints import home
from testkit.fake_backend import FakeBackend
from testkit.pages import page

# -- home -----------------------------------------------------------------------------------


async def test_home_shows_user_count_and_healthy_status(client, fake_backend: FakeBackend):
    fake_backend.add_user("ana")
    fake_backend.add_user("bob")

    status, html = await page(client, "/")

    assert status == 200
    assert re.search(r'class="stat-value">2<', html)
    assert "Operational" in html
    assert "Connected" in html
    assert "latency: 0.4 ms" in html


async def test_home_is_503_with_a_retry_link_when_backend_is_down(client, fake_backend):
    fake_backend.outage = httpx.ConnectError("connection refused")

    response = await client.get("/")
    html = await response.get_data(as_text=True)

    assert response.status_code == 503
    assert "unavailable" in html.lower()
    assert 'href="/">Check again' in html


def health_checks(fake_backend: FakeBackend) -> int:
    return sum(request.url.path == "/healthz" for request in fake_backend.requests)


async def test_home_views_within_a_second_share_one_health_check(client, fake_backend):
    fake_backend.add_user("ana")

    statuses = await asyncio.gather(*(page(client, "/") for _ in range(5)))
    status, _html = await page(client, "/")

    assert [status for status, _ in statuses] == [200] * 5
    assert status == 200
    assert health_checks(fake_backend) == 1
    # The readiness probe never uses that report: it asks the backend each time.
    assert (await client.get("/healthz")).status_code == 200
    assert health_checks(fake_backend) == 2


async def test_home_asks_for_health_again_once_the_report_is_too_old(
    client, fake_backend, monkeypatch
):
    monkeypatch.setattr(home, "HEALTH_MAX_AGE", 0.0)
    await page(client, "/")
    fake_backend.outage = httpx.ConnectError("connection refused")

    response = await client.get("/")

    assert response.status_code == 503
    assert health_checks(fake_backend) == 2


# -- list and search ------------------------------------------------------------------------


async def test_list_shows_users_with_actions(client, fake_backend):
    user = fake_backend.add_user("ana", "Ana Lima", "ana@example.com")

    status, html = await page(client, "/users")

    assert status == 200
    assert "Ana Lima" in html
    assert "ana@example.com" in html
    assert "29 Nov 2026, 14:00 UTC" in html
    for action in ("", "/edit", "/delete"):
        assert f'href="/users/{user["id"]}{action}"' in html
        # The row links are written from the list's path: each must be a page that exists.
        assert (await client.get(f"/users/{user['id']}{action}")).status_code == 200


async def test_search_passes_q_to_the_backend(client, fake_backend):
    fake_backend.add_user("ana", "Ana Lima")
    fake_backend.add_user("bob", "Bob Stone")

    status, html = await page(client, "/users?q=%20stone%20")

    assert status == 200
    assert "Bob Stone" in html
    assert "Ana Lima" not in html
    assert fake_backend.api_requests()[-1].url.params["q"] == "stone"
    assert 'value="stone"' in html


async def test_pagination_asks_the_backend_for_the_right_slice(client, fake_backend):
    for number in range(45):
        fake_backend.add_user(f"user{number:02d}")

    status, html = await page(client, "/users?page=2")

    params = fake_backend.api_requests()[-1].url.params
    assert (params["limit"], params["offset"]) == ("20", "20")
    assert status == 200
    assert "Page 2 of 3" in html
    assert "user20" in html
    assert "user19" not in html
    assert 'href="/users?page=1"' in html
    assert 'href="/users?page=3"' in html


async def test_pagination_keeps_the_search(client, fake_backend):
    for number in range(25):
        fake_backend.add_user(f"team{number:02d}")

    _, html = await page(client, "/users?q=team")

    assert 'href="/users?q=team&amp;page=2"' in html


@pytest.mark.parametrize("raw_page", ["0", "-3", "abc"])
async def test_invalid_page_numbers_show_the_first_page(client, fake_backend, raw_page):
    fake_backend.add_user("ana")

    status, _ = await page(client, f"/users?page={raw_page}")

    assert status == 200
    assert fake_backend.api_requests()[-1].url.params["offset"] == "0"


async def test_empty_directory_invites_to_create_a_user(client):
    status, html = await page(client, "/users")

    assert status == 200
    assert "No users yet" in html
    assert 'href="/users/new"' in html


async def test_search_without_results_says_so(client, fake_backend):
    fake_backend.add_user("ana")

    status, html = await page(client, "/users?q=zzz")

    assert status == 200
    assert "No users match “zzz”" in html


# -- detail and 404 -------------------------------------------------------------------------


async def test_detail_page_shows_the_user(client, fake_backend):
    user = fake_backend.add_user("ana", "Ana Lima", "ana@example.com")

    status, html = await page(client, f"/users/{user['id']}")

    assert status == 200
    assert "<h1>Ana Lima</h1>" in html
    assert "mailto:ana@example.com" in html


@pytest.mark.parametrize("path", ["/users/999", "/users/999/edit", "/users/999/delete"])
async def test_unknown_user_is_a_404_page_in_the_layout(client, path):
    status, html = await page(client, path)

    assert status == 404
    assert 'class="site-header"' in html
    assert "We could not find that page" in html


async def test_unknown_route_is_a_404_page(client):
    status, html = await page(client, "/no/such/page")

    assert status == 404
    assert "Error 404" in html


async def test_wrong_method_is_a_405_page(client):
    response = await client.delete("/users")

    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert 'class="site-header"' in await response.get_data(as_text=True)
