"""The create, edit and delete forms against an in-memory backend: every branch."""

from __future__ import annotations

import json

import httpx
import pytest
from testkit.fake_backend import problem
from testkit.pages import NEW_USER, csrf_token_in, field_block, page, submit

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


# -- someone else changed the user meanwhile ------------------------------------------------


async def test_edit_sends_the_version_it_was_rendered_with(client, fake_backend):
    user = fake_backend.add_user("ana", "Ana Lima", "ana@example.com")
    path = f"/users/{user['id']}/edit"
    _, html = await page(client, path)
    assert f'name="version" value="&#34;{user["id"]}-0&#34;"' in html

    form = {"username": "ana", "full_name": "Ana Maria", "email": "ana@example.com"}
    status, _, _ = await submit(client, path, {**form, "version": f'"{user["id"]}-0"'})

    assert status == 303
    assert fake_backend.api_requests()[-1].headers["If-Match"] == f'"{user["id"]}-0"'


async def test_edit_of_a_user_changed_meanwhile_shows_both_and_saves_on_purpose(
    client, fake_backend
):
    user = fake_backend.add_user("ana", "Ana Lima", "ana@example.com")
    path = f"/users/{user['id']}/edit"
    fake_backend.change_behind_the_pages_back(user["id"], full_name="Ana Changed")
    mine = {"username": "ana", "full_name": "Ana Mine", "email": "ana@example.com"}

    status, html, _ = await submit(client, path, {**mine, "version": f'"{user["id"]}-0"'})

    assert status == 409
    assert "Someone else changed this user" in html
    assert 'value="Ana Mine"' in field_block(html, "full_name")
    assert "Saved meanwhile: <strong>Ana Changed</strong>" in field_block(html, "full_name")
    assert fake_backend.users[user["id"]]["full_name"] == "Ana Changed"
    assert f'name="version" value="&#34;{user["id"]}-1&#34;"' in html

    again, _, _ = await submit(client, path, {**mine, "version": f'"{user["id"]}-1"'})
    assert again == 303
    assert fake_backend.users[user["id"]]["full_name"] == "Ana Mine"


async def test_delete_of_a_user_changed_meanwhile_asks_again(client, fake_backend):
    user = fake_backend.add_user("ana", "Ana Lima", "ana@example.com")
    fake_backend.change_behind_the_pages_back(user["id"], email="new@example.com")

    status, html, _ = await submit(
        client, f"/users/{user['id']}/delete", {"version": f'"{user["id"]}-0"'}
    )

    assert status == 409
    assert "it was not deleted" in html
    assert "new@example.com" in html
    assert user["id"] in fake_backend.users
