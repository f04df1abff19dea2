"""The frontend's store of API answers, revalidated against the real backend and database."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from frontend.app import create_app
from frontend.lib.answer_cache import AnswerCache
from frontend.lib.backend_client import BackendUnavailable, UserNotFound
from frontend.settings import Settings
from quart import Quart

_numbers = itertools.count()


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The real network transport, noting what the backend answered to each GET."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[tuple[str, int, str | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method == "GET":
            self.answers.append(
                (request.url.path, response.status_code, request.headers.get("If-None-Match"))
            )
        return response


@pytest.fixture
def recorder() -> RecordingTransport:
    return RecordingTransport()


async def _app(live_backend: str, recorder: RecordingTransport, size: int) -> Quart:
    settings = Settings(backend_url=live_backend, secret_key="cache", backend_cache_size=size)
    return create_app(settings, transport=recorder)


@pytest.fixture
async def cached(live_backend: str, recorder: RecordingTransport) -> AsyncIterator[Quart]:
    app = await _app(live_backend, recorder, size=2)
    async with app.test_app():
        yield app


def _username() -> str:
    return f"cache{os.getpid() % 10000}n{next(_numbers)}"


async def test_a_stored_answer_is_revalidated_and_reused_on_304(cached, recorder):
    client = cached.extensions["backend"]
    created = await client.create_user(
        {"username": _username(), "full_name": "Ada Cache", "email": "ada@example.com"}
    )
    first = await client.get_user(created.id)
    second = await client.get_user(created.id)
    path = f"/api/v1/users/{created.id}"
    assert [answer for answer in recorder.answers if answer[0] == path] == [
        (path, 200, None),
        (path, 304, first.version),
    ]
    assert second is first


async def test_a_changed_user_is_fetched_again(cached, recorder):
    client = cached.extensions["backend"]
    created = await client.create_user(
        {"username": _username(), "full_name": "Before", "email": "before@example.com"}
    )
    loaded = await client.get_user(created.id)
    fields = {"username": loaded.username, "full_name": "After", "email": "after@example.com"}
    await client.update_user(created.id, fields, loaded.version)
    again = await client.get_user(created.id)
    assert again.full_name == "After"
    assert again.version != loaded.version
    assert recorder.answers[-1] == (f"/api/v1/users/{created.id}", 200, loaded.version)


async def test_list_pages_are_stored_per_query(cached, recorder):
    client = cached.extensions["backend"]
    name = _username()
    await client.create_user({"username": name, "full_name": "Listed", "email": "l@example.com"})
    found = await client.list_users(q=name)
    other = await client.list_users(q=name + "x")
    assert [user.username for user in found.items] == [name]
    assert other.items == []
    assert await client.list_users(q=name) is found
    assert recorder.answers[-1][1] == 304


async def test_the_least_recently_used_answer_goes_first(cached, recorder):
    client = cached.extensions["backend"]
    ids = []
    for _ in range(3):
        user = await client.create_user(
            {"username": _username(), "full_name": "Many", "email": "m@example.com"}
        )
        ids.append(user.id)
    for user_id in ids:  # room for two: the first one is dropped
        await client.get_user(user_id)
    assert len(client.answers) == 2
    recorder.answers.clear()
    await client.get_user(ids[0])
    await client.get_user(ids[2])
    assert [status for _, status, _ in recorder.answers] == [200, 304]


async def test_a_deleted_user_is_forgotten(cached, recorder):
    client = cached.extensions["backend"]
    created = await client.create_user(
        {"username": _username(), "full_name": "Gone", "email": "g@example.com"}
    )
    await client.get_user(created.id)
    await client.delete_user(created.id)
    with pytest.raises(UserNotFound):
        await client.get_user(created.id)
    assert client.answers.get(f"/api/v1/users/{created.id}") is None


async def test_size_zero_never_sends_if_none_match(live_backend, recorder):
    app = await _app(live_backend, recorder, size=0)
    async with app.test_app():
        client = app.extensions["backend"]
        created = await client.create_user(
            {"username": _username(), "full_name": "Off", "email": "o@example.com"}
        )
        await client.get_user(created.id)
        await client.get_user(created.id)
        assert len(client.answers) == 0
    assert [status for _, status, inm in recorder.answers] == [200, 200]
    assert all(inm is None for _, _, inm in recorder.answers)


async def test_an_unreachable_backend_is_never_answered_from_the_store(cached, live_backend):
    client = cached.extensions["backend"]
    created = await client.create_user(
        {"username": _username(), "full_name": "Down", "email": "d@example.com"}
    )
    await client.get_user(created.id)
    client.base_url = "http://127.0.0.1:9"  # nothing listens on the discard port here
    await client.aclose()
    await client.open()
    with pytest.raises(BackendUnavailable):
        await client.get_user(created.id)


def test_the_store_is_bounded_and_refuses_a_negative_size():
    store = AnswerCache(1)
    store.store("a", '"1"', "A")
    store.store("b", '"2"', "B")
    assert store.get("a") is None
    assert store.get("b").value == "B"
    with pytest.raises(ValueError, match="max_entries"):
        AnswerCache(-1)
