"""The users pages against an in-memory backend: every success and failure branch."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
from frontend.app import create_app
from frontend.settings import Settings
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient
from testkit.fake_backend import FakeBackend, problem
from testkit.pages import csrf_token_in

NEW_USER = {"username": "ana.lima", "full_name": "Ana Lima", "email": "ana@example.com"}


async def page(client: QuartClient, path: str) -> tuple[int, str]:
    response = await client.get(path)
    return response.status_code, await response.get_data(as_text=True)


async def submit(
    client: QuartClient, path: str, form: dict[str, str]
) -> tuple[int, str, dict[str, str]]:
    """Load the form page for its CSRF token, then post `form` like a browser."""
    _, html = await page(client, path)
    response = await client.post(path, form={**form, "csrf_token": csrf_token_in(html)})
    return response.status_code, await response.get_data(as_text=True), dict(response.headers)


def field_block(html: str, name: str) -> str:
    """The markup of one form field (label, hint, error and input)."""
    match = re.search(
        rf'<div class="field[^"]*">\s*<label for="{name}">.*?</div>', html, flags=re.DOTALL
    )
    assert match, f"no field {name}"
    return match.group(0)


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


# -- create ---------------------------------------------------------------------------------


async def test_new_user_form_has_labels_and_html5_constraints(client):
    status, html = await page(client, "/users/new")

    assert status == 200
    username = field_block(html, "username")
    assert 'required minlength="3" maxlength="32"' in username
    assert 'pattern="[A-Za-z0-9._\\-]+"' in username
    assert 'maxlength="100"' in field_block(html, "full_name")
    email = field_block(html, "email")
    assert 'type="email"' in email
    assert 'maxlength="254"' in email


async def test_create_redirects_to_the_new_user_with_a_flash(client, fake_backend):
    status, _, headers = await submit(client, "/users/new", NEW_USER)

    assert status == 303
    created = next(iter(fake_backend.users.values()))
    assert headers["location"] == f"/users/{created['id']}"
    sent = fake_backend.api_requests()[-1]
    assert (sent.method, sent.url.path) == ("POST", "/api/v1/users")
    assert json.loads(sent.content) == NEW_USER

    status, html = await page(client, headers["location"])
    assert status == 200
    assert "User “ana.lima” was created." in html
    # A flash is shown once.
    _, html = await page(client, headers["location"])
    assert "was created" not in html


async def test_create_with_invalid_fields_shows_errors_next_to_each_field(client):
    form = {"username": "a!", "full_name": "Ana", "email": "not-an-address"}

    status, html, _ = await submit(client, "/users/new", form)

    assert status == 422
    username = field_block(html, "username")
    assert "username must be 3-32 characters" in username
    assert 'value="a!"' in username
    assert 'aria-invalid="true"' in username
    assert 'aria-describedby="username-hint username-error"' in username
    email = field_block(html, "email")
    assert "email is not a valid address" in email
    assert 'value="not-an-address"' in email
    full_name = field_block(html, "full_name")
    assert 'value="Ana"' in full_name
    assert "field-error" not in full_name


async def test_create_with_a_taken_username_shows_it_on_the_username_field(client, fake_backend):
    fake_backend.add_user("ana.lima")

    status, html, _ = await submit(client, "/users/new", NEW_USER)

    assert status == 409
    assert "username is already taken" in field_block(html, "username")
    assert 'value="Ana Lima"' in field_block(html, "full_name")


async def test_a_409_without_details_still_names_the_username(client, fake_backend):
    _, html = await page(client, "/users/new")
    fake_backend.queued_failures.append(httpx.Response(409, json={"title": "Conflict"}))

    response = await client.post("/users/new", form={**NEW_USER, "csrf_token": csrf_token_in(html)})

    assert response.status_code == 409
    body = await response.get_data(as_text=True)
    assert "username is already taken" in field_block(body, "username")


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(httpx.ConnectError("connection refused"), id="connection-refused"),
        pytest.param(httpx.ReadTimeout("timed out"), id="timeout"),
        pytest.param(problem(503, "database unavailable"), id="503"),
        pytest.param(httpx.Response(500, text="oops"), id="500"),
    ],
)
async def test_create_when_backend_fails_keeps_the_input_and_answers_503(
    client, fake_backend, failure
):
    _, form_page = await page(client, "/users/new")
    fake_backend.outage = failure
    calls_before = len(fake_backend.requests)

    response = await client.post(
        "/users/new", form={**NEW_USER, "csrf_token": csrf_token_in(form_page)}
    )
    html = await response.get_data(as_text=True)

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "temporarily unavailable" in html
    for name, value in NEW_USER.items():
        assert f'value="{value}"' in field_block(html, name)
    assert "Traceback" not in html
    # A POST is never retried: it might have been applied.
    assert len(fake_backend.requests) == calls_before + 1


# -- edit -----------------------------------------------------------------------------------


async def test_edit_form_is_prefilled_from_the_backend(client, fake_backend):
    user = fake_backend.add_user("ana", "Ana Lima", "ana@example.com")

    status, html = await page(client, f"/users/{user['id']}/edit")

    assert status == 200
    assert 'value="ana"' in field_block(html, "username")
    assert 'value="Ana Lima"' in field_block(html, "full_name")
    assert 'value="ana@example.com"' in field_block(html, "email")
    assert 'type="hidden" name="username"' not in html


async def test_edit_sends_the_three_fields_and_redirects_with_a_flash(client, fake_backend):
    user = fake_backend.add_user("ana", "Ana Lima", "ana@example.com")
    path = f"/users/{user['id']}/edit"
    form = {"username": "ana", "full_name": "Ana Maria Lima", "email": "ana.maria@example.com"}

    status, _, headers = await submit(client, path, {**form, "id": "42", "created_at": "x"})

    assert status == 303
    assert headers["location"] == f"/users/{user['id']}"
    sent = fake_backend.api_requests()[-1]
    assert (sent.method, sent.url.path) == ("PUT", f"/api/v1/users/{user['id']}")
    assert json.loads(sent.content) == form
    _, html = await page(client, headers["location"])
    assert "User “ana” was updated." in html
    assert "Ana Maria Lima" in html


async def test_edit_with_invalid_fields_keeps_the_input(client, fake_backend):
    user = fake_backend.add_user("ana")
    form = {"username": "ana", "full_name": "   ", "email": "ana@example.com"}

    status, html, _ = await submit(client, f"/users/{user['id']}/edit", form)

    assert status == 422
    assert "full_name must not be blank" in field_block(html, "full_name")
    assert 'value="   "' in field_block(html, "full_name")


async def test_edit_to_a_taken_username_is_a_409_on_the_username_field(client, fake_backend):
    fake_backend.add_user("bob")
    user = fake_backend.add_user("ana")

    status, html, _ = await submit(
        client, f"/users/{user['id']}/edit", {**NEW_USER, "username": "BOB"}
    )

    assert status == 409
    assert "username is already taken" in field_block(html, "username")
    assert 'value="BOB"' in field_block(html, "username")


async def test_edit_of_a_user_deleted_meanwhile_is_a_404(client, fake_backend):
    user = fake_backend.add_user("ana")
    _, html = await page(client, f"/users/{user['id']}/edit")
    del fake_backend.users[user["id"]]

    response = await client.post(
        f"/users/{user['id']}/edit", form={**NEW_USER, "csrf_token": csrf_token_in(html)}
    )

    assert response.status_code == 404


async def test_edit_when_backend_times_out_keeps_the_input(client, fake_backend):
    user = fake_backend.add_user("ana")
    _, html = await page(client, f"/users/{user['id']}/edit")
    fake_backend.outage = httpx.ReadTimeout("timed out")

    response = await client.post(
        f"/users/{user['id']}/edit", form={**NEW_USER, "csrf_token": csrf_token_in(html)}
    )
    body = await response.get_data(as_text=True)

    assert response.status_code == 503
    assert 'value="ana.lima"' in field_block(body, "username")


# -- delete ---------------------------------------------------------------------------------


async def test_delete_asks_for_confirmation_then_deletes(client, fake_backend):
    user = fake_backend.add_user("ana", "Ana Lima")
    path = f"/users/{user['id']}/delete"

    status, html = await page(client, path)
    assert status == 200
    assert "Delete ana?" in html
    assert not any(request.method == "DELETE" for request in fake_backend.requests)

    status, _, headers = await submit(client, path, {})

    assert status == 303
    assert headers["location"] == "/users"
    assert fake_backend.users == {}
    _, html = await page(client, "/users")
    assert f"User #{user['id']} was deleted." in html


async def test_delete_when_backend_is_down_is_a_503_with_the_form(client, fake_backend):
    user = fake_backend.add_user("ana")
    _, html = await page(client, f"/users/{user['id']}/delete")
    fake_backend.outage = problem(503, "database unavailable")

    response = await client.post(
        f"/users/{user['id']}/delete", form={"csrf_token": csrf_token_in(html)}
    )
    body = await response.get_data(as_text=True)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert "temporarily unavailable" in body
    assert f'action="/users/{user["id"]}/delete"' in body


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
