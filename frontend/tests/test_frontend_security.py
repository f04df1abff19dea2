"""CSRF, escaping, security headers and request ids."""

from __future__ import annotations

import re

import pytest
from frontend.lib.security import SECURITY_HEADERS
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient
from testkit.fake_backend import FakeBackend
from testkit.pages import csrf_token_in

NEW_USER = {"username": "ana.lima", "full_name": "Ana Lima", "email": "ana@example.com"}
SCRIPT = "<script>alert(1)</script>"


async def form_token(client: QuartClient, path: str = "/users/new") -> str:
    response = await client.get(path)
    return csrf_token_in(await response.get_data(as_text=True))


# -- CSRF -----------------------------------------------------------------------------------


async def test_every_post_form_carries_a_csrf_token(client, fake_backend: FakeBackend):
    user = fake_backend.add_user("ana")
    for path in ("/users/new", f"/users/{user['id']}/edit", f"/users/{user['id']}/delete"):
        html = await (await client.get(path)).get_data(as_text=True)
        forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", html, flags=re.DOTALL)
        assert forms, path
        assert all('name="csrf_token"' in form for form in forms), path


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("forged-token", id="wrong"),
        pytest.param("jeton-é", id="non-ascii"),
    ],
)
async def test_post_without_a_valid_token_is_a_400_and_reaches_no_backend(
    client, fake_backend, token
):
    user = fake_backend.add_user("ana")
    await form_token(client)  # the session has a token; the post does not match it
    form = dict(NEW_USER) if token is None else {**NEW_USER, "csrf_token": token}
    fake_backend.requests.clear()

    for path in ("/users/new", f"/users/{user['id']}/edit", f"/users/{user['id']}/delete"):
        response = await client.post(path, form=form)
        html = await response.get_data(as_text=True)
        assert response.status_code == 400, path
        assert "This request could not be accepted" in html
        assert 'class="site-header"' in html

    assert fake_backend.requests == []
    assert len(fake_backend.users) == 1


async def test_a_token_from_another_session_is_refused(app: Quart, fake_backend):
    other_browser = app.test_client()
    stolen = await form_token(other_browser)
    victim = app.test_client()
    await form_token(victim)

    response = await victim.post("/users/new", form={**NEW_USER, "csrf_token": stolen})

    assert response.status_code == 400
    assert fake_backend.requests == []


async def test_post_without_any_session_is_refused(client, fake_backend):
    response = await client.post("/users/new", form={**NEW_USER, "csrf_token": "x" * 43})

    assert response.status_code == 400
    assert fake_backend.requests == []


async def test_session_cookie_is_http_only_and_same_site(client):
    response = await client.get("/users/new")

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# -- escaping -------------------------------------------------------------------------------


async def test_user_data_is_escaped_everywhere(client, fake_backend):
    user = fake_backend.add_user("ana", SCRIPT, 'a"b@example.com')
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"

    for path in (
        "/users",
        f"/users/{user['id']}",
        f"/users/{user['id']}/edit",
        f"/users/{user['id']}/delete",
        "/users?q=%3Cscript%3E",
    ):
        html = await (await client.get(path)).get_data(as_text=True)
        assert "<script" not in html, path
        if "?q=" not in path:
            assert escaped in html, path


async def test_submitted_input_is_escaped_when_the_form_is_shown_again(client):
    token = await form_token(client)

    response = await client.post(
        "/users/new",
        form={
            "username": '"><script>x</script>',
            "full_name": SCRIPT,
            "email": "bad",
            "csrf_token": token,
        },
    )
    html = await response.get_data(as_text=True)

    assert response.status_code == 422
    assert "<script" not in html
    assert 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in html


async def test_flash_messages_are_escaped(client, fake_backend):
    token = await form_token(client)
    response = await client.post(
        "/users/new",
        form={"username": "ana", "full_name": "A", "email": "a@b.c", "csrf_token": token},
    )
    assert response.status_code == 303
    # The backend echoes what it stored; a hostile value must not break out of the flash.
    next(iter(fake_backend.users.values()))["username"] = SCRIPT
    html = await (await client.get("/users")).get_data(as_text=True)
    assert "<script" not in html


# -- headers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/users", "/users/new", "/users/12345", "/nope", "/static/style.css", "/livez"]
)
async def test_security_headers_on_every_response(client, path):
    response = await client.get(path)

    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, (path, name)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # default-src 'none' forbids every script
    assert "'unsafe-inline'" not in csp


async def test_pages_are_not_cached_but_static_files_may_be(client):
    assert (await client.get("/users")).headers["Cache-Control"] == "no-store"
    assert "no-store" not in (await client.get("/static/style.css")).headers.get(
        "Cache-Control", ""
    )


async def test_pages_have_no_inline_script_or_style(client, fake_backend):
    user = fake_backend.add_user("ana")
    for path in ("/", "/users", "/users/new", f"/users/{user['id']}", "/nope"):
        html = await (await client.get(path)).get_data(as_text=True)
        assert "<script" not in html
        assert "style=" not in html
        assert "<style" not in html


# -- request id -----------------------------------------------------------------------------


async def test_request_id_is_taken_from_the_request_forwarded_and_echoed(client, fake_backend):
    fake_backend.add_user("ana")

    response = await client.get("/users", headers={"X-Request-ID": "abc-123.req"})

    assert response.headers["X-Request-ID"] == "abc-123.req"
    api_calls = fake_backend.api_requests()
    assert api_calls
    assert all(call.headers["X-Request-ID"] == "abc-123.req" for call in api_calls)


async def test_request_id_is_generated_when_absent(client, fake_backend):
    response = await client.get("/")

    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert {call.headers["X-Request-ID"] for call in fake_backend.requests} == {request_id}


async def test_an_unsafe_request_id_is_replaced(client):
    response = await client.get("/livez", headers={"X-Request-ID": "bad id\u2028<script>"})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


async def test_each_request_gets_its_own_id(client):
    first = (await client.get("/livez")).headers["X-Request-ID"]
    second = (await client.get("/livez")).headers["X-Request-ID"]

    assert first != second


async def test_error_pages_show_the_request_id_for_support(client):
    response = await client.get("/nope", headers={"X-Request-ID": "support-ref-1"})

    assert "support-ref-1" in await response.get_data(as_text=True)
