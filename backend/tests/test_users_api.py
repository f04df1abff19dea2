"""The /api/v1/users routes against the real database, through the in-process app."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from quart.typing import TestClientProtocol as Client

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
PROBLEM = "application/problem+json"


def body_for(name: str, **overrides: object) -> dict[str, object]:
    return {"username": name, "full_name": "Ana Lima", "email": "ana@example.com", **overrides}


async def create(client: Client, name: str, **overrides: object) -> dict:
    response = await client.post("/api/v1/users", json=body_for(name, **overrides))
    assert response.status_code == 201, await response.get_data(as_text=True)
    return await response.get_json()


def field_messages(problem: dict) -> dict[str, str]:
    return {error["field"]: error["message"] for error in problem["errors"]}


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


# --- GET one ----------------------------------------------------------------------------------


async def test_get_returns_the_user(client: Client, unique: str) -> None:
    user = await create(client, unique)

    response = await client.get(f"/api/v1/users/{user['id']}")

    assert response.status_code == 200
    assert await response.get_json() == user


@pytest.mark.parametrize("user_id", ["999999999", "0", str(2**64), str(10**30)])
async def test_get_unknown_id_is_404(client: Client, user_id: str) -> None:
    response = await client.get(f"/api/v1/users/{user_id}")

    assert response.status_code == 404
    assert response.content_type == PROBLEM
    problem = await response.get_json()
    assert problem["status"] == 404
    assert problem["title"] == "Not Found"


@pytest.mark.parametrize("user_id", ["abc", "-1", "1.5"])
async def test_non_numeric_id_is_404(client: Client, user_id: str) -> None:
    response = await client.get(f"/api/v1/users/{user_id}")

    assert response.status_code == 404
    assert response.content_type == PROBLEM


# --- PUT --------------------------------------------------------------------------------------


async def test_put_replaces_all_fields(client: Client, unique: str) -> None:
    user = await create(client, unique)

    response = await client.put(
        f"/api/v1/users/{user['id']}",
        json={"username": f"{unique}r", "full_name": "Ana Maria Lima", "email": "am@example.org"},
    )

    assert response.status_code == 200
    replaced = await response.get_json()
    assert replaced["id"] == user["id"]
    assert replaced["username"] == f"{unique}r"
    assert replaced["full_name"] == "Ana Maria Lima"
    assert replaced["email"] == "am@example.org"
    assert replaced["created_at"] == user["created_at"]
    assert replaced["updated_at"] > user["updated_at"]
    assert await (await client.get(f"/api/v1/users/{user['id']}")).get_json() == replaced


async def test_put_needs_all_three_fields(client: Client, unique: str) -> None:
    user = await create(client, unique)

    response = await client.put(f"/api/v1/users/{user['id']}", json={"full_name": "Only Name"})

    assert response.status_code == 422
    assert set(field_messages(await response.get_json())) == {"username", "email"}


async def test_put_unknown_user_is_404(client: Client, unique: str) -> None:
    response = await client.put("/api/v1/users/999999999", json=body_for(unique))

    assert response.status_code == 404
    assert response.content_type == PROBLEM


async def test_put_to_a_taken_username_is_409(client: Client, unique: str) -> None:
    await create(client, f"{unique}a")
    other = await create(client, f"{unique}b")

    response = await client.put(f"/api/v1/users/{other['id']}", json=body_for(f"{unique}A".upper()))

    assert response.status_code == 409
    assert field_messages(await response.get_json()) == {"username": "username is already taken"}


async def test_put_with_the_same_username_in_another_case_is_allowed(
    client: Client, unique: str
) -> None:
    user = await create(client, unique.lower())

    response = await client.put(f"/api/v1/users/{user['id']}", json=body_for(unique.upper()))

    assert response.status_code == 200
    assert (await response.get_json())["username"] == unique.upper()


# --- PATCH ------------------------------------------------------------------------------------


async def test_patch_changes_only_the_given_fields(client: Client, unique: str) -> None:
    user = await create(client, unique)

    response = await client.patch(f"/api/v1/users/{user['id']}", json={"email": "new@example.com"})

    assert response.status_code == 200
    patched = await response.get_json()
    assert patched["email"] == "new@example.com"
    assert patched["username"] == user["username"]
    assert patched["full_name"] == user["full_name"]
    assert patched["updated_at"] > user["updated_at"]


async def test_patch_with_no_fields_changes_nothing(client: Client, unique: str) -> None:
    user = await create(client, unique)

    response = await client.patch(f"/api/v1/users/{user['id']}", json={"id": 5})

    assert response.status_code == 200
    assert await response.get_json() == user


async def test_patch_validates_the_given_fields(client: Client, unique: str) -> None:
    user = await create(client, unique)

    response = await client.patch(
        f"/api/v1/users/{user['id']}", json={"username": "x", "email": None}
    )

    assert response.status_code == 422
    assert field_messages(await response.get_json()) == {
        "username": "username must be 3 to 32 characters long, using only letters, digits, "
        "'.', '_' and '-'",
        "email": "email must not be null",
    }


async def test_patch_unknown_user_is_404(client: Client) -> None:
    response = await client.patch("/api/v1/users/999999999", json={"full_name": "Nobody"})

    assert response.status_code == 404


async def test_patch_to_a_taken_username_is_409(client: Client, unique: str) -> None:
    await create(client, f"{unique}a")
    other = await create(client, f"{unique}b")

    response = await client.patch(f"/api/v1/users/{other['id']}", json={"username": f"{unique}a"})

    assert response.status_code == 409


# --- DELETE -----------------------------------------------------------------------------------


async def test_delete_is_204_then_the_user_is_gone(client: Client, unique: str) -> None:
    user = await create(client, unique)

    response = await client.delete(f"/api/v1/users/{user['id']}")

    assert response.status_code == 204
    assert await response.get_data() == b""
    assert (await client.get(f"/api/v1/users/{user['id']}")).status_code == 404
    assert (await client.delete(f"/api/v1/users/{user['id']}")).status_code == 404
    # The name is free again.
    await create(client, unique)


# --- list -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("empty_users_table")
async def test_list_pages_in_id_order_with_the_total(client: Client) -> None:
    created = [await create(client, f"page{index:02d}") for index in range(5)]

    first = await (await client.get("/api/v1/users?limit=2")).get_json()
    last = await (await client.get("/api/v1/users?limit=2&offset=4")).get_json()
    beyond = await (await client.get("/api/v1/users?limit=2&offset=10")).get_json()

    assert first == {"items": created[:2], "total": 5, "limit": 2, "offset": 0}
    assert last == {"items": created[4:], "total": 5, "limit": 2, "offset": 4}
    assert beyond == {"items": [], "total": 5, "limit": 2, "offset": 10}


@pytest.mark.usefixtures("empty_users_table")
async def test_list_of_an_empty_table(client: Client) -> None:
    response = await client.get("/api/v1/users")

    assert response.status_code == 200
    assert await response.get_json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


@pytest.mark.usefixtures("empty_users_table")
async def test_list_default_limit_is_20(client: Client) -> None:
    for index in range(21):
        await create(client, f"many{index:02d}")

    page = await (await client.get("/api/v1/users")).get_json()

    assert len(page["items"]) == 20
    assert page["total"] == 21


async def test_list_filters_by_exact_username_ignoring_case(client: Client, unique: str) -> None:
    user = await create(client, unique)
    await create(client, f"{unique}x")

    page = await (await client.get(f"/api/v1/users?username={unique.upper()}")).get_json()
    padded = await (await client.get(f"/api/v1/users?username=%20{unique}%20")).get_json()
    partial = await (await client.get(f"/api/v1/users?username={unique[:-1]}")).get_json()
    invalid = await (await client.get("/api/v1/users?username=a%20b")).get_json()

    assert page["items"] == [user]
    assert page["total"] == 1
    assert padded["items"] == [user]
    assert partial["items"] == []
    assert invalid == {"items": [], "total": 0, "limit": 20, "offset": 0}


async def test_list_searches_username_full_name_and_email(client: Client, unique: str) -> None:
    by_name = await create(client, f"{unique}a", full_name=f"Zed {unique}QQ Person")
    by_email = await create(client, f"{unique}b", email=f"{unique}qq@example.com")
    by_username = await create(client, f"{unique}qqc")
    await create(client, f"{unique}d")

    page = await (await client.get(f"/api/v1/users?q={unique}QQ")).get_json()

    assert page["items"] == [by_name, by_email, by_username]
    assert page["total"] == 3


async def test_search_treats_like_wildcards_literally(client: Client, unique: str) -> None:
    percent = await create(client, f"{unique}p", full_name=f"{unique} 100% sure")
    await create(client, f"{unique}q", full_name=f"{unique} 1000 sure")

    page = await (await client.get(f"/api/v1/users?q={unique}%20100%25")).get_json()
    underscore = await (await client.get(f"/api/v1/users?q={unique}_")).get_json()

    assert page["items"] == [percent]
    assert underscore["items"] == []


async def test_list_filters_combine(client: Client, unique: str) -> None:
    user = await create(client, unique, full_name="Combined Filter")

    hit = await (await client.get(f"/api/v1/users?username={unique}&q=combined")).get_json()
    miss = await (await client.get(f"/api/v1/users?username={unique}&q=nomatch")).get_json()

    assert hit["items"] == [user]
    assert miss["items"] == []


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("limit=0", "limit", "limit must be a whole number from 1 to 100"),
        ("limit=101", "limit", "limit must be a whole number from 1 to 100"),
        ("limit=ten", "limit", "limit must be a whole number from 1 to 100"),
        ("offset=-1", "offset", "offset must be a whole number, 0 or more"),
        ("offset=x", "offset", "offset must be a whole number, 0 or more"),
        ("q=" + "x" * 255, "q", "q must be at most 254 characters long"),
    ],
)
async def test_bad_list_parameters_are_422(
    client: Client, query: str, field: str, message: str
) -> None:
    response = await client.get(f"/api/v1/users?{query}")

    assert response.status_code == 422
    assert response.content_type == PROBLEM
    assert field_messages(await response.get_json()) == {field: message}


# --- errors of any route ----------------------------------------------------------------------


async def test_unknown_route_is_404_problem(client: Client) -> None:
    response = await client.get("/api/v2/nothing")

    assert response.status_code == 404
    assert response.content_type == PROBLEM
    problem = await response.get_json()
    assert problem == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no such resource",
    }


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/api/v1/users"), ("POST", "/api/v1/users/1")]
)
async def test_wrong_method_is_405_problem_with_allow(
    client: Client, method: str, path: str
) -> None:
    response = await client.open(path, method=method)

    assert response.status_code == 405
    assert response.content_type == PROBLEM
    assert (await response.get_json())["status"] == 405
    assert "GET" in response.headers["Allow"]
