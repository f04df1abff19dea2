"""POST /api/v1/users against the real database: the user, its validation and its body."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from quart.typing import TestClientProtocol as Client
from user_requests import PROBLEM, TIMESTAMP, body_for, create, field_messages

# --- POST -----------------------------------------------------------------------------------


async def test_create_returns_201_the_user_and_its_location(client: Client, unique: str) -> None:
    response = await client.post("/api/v1/users", json=body_for(unique))

    assert response.status_code == 201
    assert response.content_type == "application/json"
    user = await response.get_json()
    assert response.headers["Location"] == f"/api/v1/users/{user['id']}"
    assert set(user) == {"id", "username", "full_name", "email", "created_at", "updated_at"}
    assert user["username"] == unique
    assert user["full_name"] == "Ana Lima"
    assert user["email"] == "ana@example.com"
    assert TIMESTAMP.match(user["created_at"])
    assert user["created_at"] == user["updated_at"]


async def test_timestamps_are_utc_now(client: Client, unique: str) -> None:
    user = await create(client, unique)

    created = datetime.strptime(user["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)


async def test_create_trims_spaces_and_ignores_unknown_and_server_fields(
    client: Client, unique: str
) -> None:
    response = await client.post(
        "/api/v1/users",
        json={
            "id": 999999,
            "created_at": "2000-01-01T00:00:00Z",
            "username": f"  {unique}  ",
            "full_name": "  Ana Lima ",
            "email": " ana@example.com ",
            "role": "admin",
        },
    )

    assert response.status_code == 201
    user = await response.get_json()
    assert user["id"] != 999999
    assert user["username"] == unique
    assert user["full_name"] == "Ana Lima"
    assert user["email"] == "ana@example.com"
    assert not user["created_at"].startswith("2000")
    assert "role" not in user


async def test_username_taken_whatever_its_case_is_409(client: Client, unique: str) -> None:
    await create(client, unique.lower())

    response = await client.post("/api/v1/users", json=body_for(unique.upper()))

    assert response.status_code == 409
    assert response.content_type == PROBLEM
    problem = await response.get_json()
    assert problem["status"] == 409
    assert problem["detail"] == "username is already taken"
    assert field_messages(problem) == {"username": "username is already taken"}


async def test_username_is_unique_over_the_whole_value(client: Client, unique: str) -> None:
    # A long shared prefix must not make two names collide (no prefix index).
    first = f"{unique}-{'a' * (30 - len(unique))}"[:31] + "1"
    second = first[:-1] + "2"
    await create(client, first)
    await create(client, second)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"username": "ab"},
            "username",
            "username must be 3 to 32 characters long, using only letters, digits, '.', '_' "
            "and '-'",
        ),
        ({"username": "a" * 33}, "username", "username must be 3 to 32 characters long"),
        ({"username": "ana lima"}, "username", "using only letters, digits"),
        ({"username": "ana\u00e7"}, "username", "using only letters, digits"),
        ({"username": 42}, "username", "username must be a string"),
        ({"username": None}, "username", "username must not be null"),
        ({"full_name": "   "}, "full_name", "full_name must be 1 to 100 characters long"),
        ({"full_name": "x" * 101}, "full_name", "full_name must be 1 to 100 characters long"),
        ({"full_name": "Ana\u0000Lima"}, "full_name", "full_name must be 1 to 100 characters"),
        ({"email": "not-an-email"}, "email", "email must be a valid email address"),
        ({"email": f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.com"}, "email", "email must"),
    ],
)
async def test_invalid_fields_are_422_with_a_readable_message(
    client: Client, unique: str, overrides: dict, field: str, message: str
) -> None:
    response = await client.post("/api/v1/users", json=body_for(unique, **overrides))

    assert response.status_code == 422
    assert response.content_type == PROBLEM
    problem = await response.get_json()
    assert problem["status"] == 422
    assert problem["title"] == "Unprocessable Entity"
    messages = field_messages(problem)
    assert list(messages) == [field]
    assert message in messages[field]


async def test_missing_fields_are_each_reported(client: Client) -> None:
    response = await client.post("/api/v1/users", json={})

    assert response.status_code == 422
    assert field_messages(await response.get_json()) == {
        "username": "username is required",
        "full_name": "full_name is required",
        "email": "email is required",
    }


async def test_a_body_that_is_not_an_object_is_422(client: Client) -> None:
    response = await client.post("/api/v1/users", json=["ana"])

    assert response.status_code == 422
    assert field_messages(await response.get_json()) == {
        "body": "the request body must be a JSON object"
    }


async def test_full_name_keeps_unicode(client: Client, unique: str) -> None:
    user = await create(client, unique, full_name="Zoë Ñúñez 日本 🎉")

    fetched = await (await client.get(f"/api/v1/users/{user['id']}")).get_json()
    assert fetched["full_name"] == "Zoë Ñúñez 日本 🎉"


async def test_malformed_json_is_400(client: Client) -> None:
    response = await client.post(
        "/api/v1/users", data='{"username": "ana",', headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.content_type == PROBLEM
    problem = await response.get_json()
    assert problem["status"] == 400
    assert problem["detail"].startswith("the request body is not valid JSON")


async def test_empty_body_is_400(client: Client) -> None:
    response = await client.post(
        "/api/v1/users", data="", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert (await response.get_json())["detail"] == "the request body is empty: send a JSON object"


async def test_deeply_nested_json_is_400_not_500(client: Client) -> None:
    response = await client.post(
        "/api/v1/users", data="[" * 30000, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400


@pytest.mark.parametrize("content_type", [None, "text/plain", "text/plain; charset=utf-8"])
async def test_json_sent_as_text_plain_or_without_type_is_accepted(
    client: Client, unique: str, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post(
        "/api/v1/users", data=json.dumps(body_for(unique)), headers=headers
    )

    assert response.status_code == 201
    assert (await response.get_json())["username"] == unique


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data", "text/html"]
)
async def test_other_content_types_are_415(client: Client, unique: str, content_type: str) -> None:
    response = await client.post(
        "/api/v1/users", data=json.dumps(body_for(unique)), headers={"Content-Type": content_type}
    )

    assert response.status_code == 415
    assert response.content_type == PROBLEM
    assert (await response.get_json())["status"] == 415


async def test_body_over_64_kib_is_413(client: Client, unique: str) -> None:
    payload = json.dumps(body_for(unique, padding="x" * (64 * 1024)))

    response = await client.post(
        "/api/v1/users", data=payload, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert response.content_type == PROBLEM
    assert (await response.get_json())["detail"] == "the request body is larger than 64 KiB"


async def test_body_just_under_64_kib_is_accepted(client: Client, unique: str) -> None:
    payload = json.dumps(body_for(unique, padding=""))
    payload = payload[:-1] + ', "padding2": "' + "x" * (64 * 1024 - len(payload) - 20) + '"}'
    assert len(payload) <= 64 * 1024

    response = await client.post(
        "/api/v1/users", data=payload, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 201
