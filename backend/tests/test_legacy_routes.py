"""The deprecated /users aliases, as the seed's Postman collection calls them."""

from __future__ import annotations

import json

import pytest
from quart.typing import TestClientProtocol as Client

DEPRECATION = "@1767225600"


def assert_deprecated(response, successor: str) -> None:
    assert response.headers["Deprecation"] == DEPRECATION
    assert response.headers["Link"] == f'<{successor}>; rel="successor-version"'


def postman_body(**fields: str) -> str:
    # Postman sends raw bodies with CRLF line breaks and Content-Type text/plain.
    return "{\r\n" + ",\r\n".join(f'    "{k}": "{v}"' for k, v in fields.items()) + "\r\n}"


async def test_postman_create_is_201_with_text_plain(client: Client, unique: str) -> None:
    response = await client.post(
        "/users",
        data=postman_body(username=unique, full_name="elton", email="elton@elton.com"),
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 201
    user = await response.get_json()
    assert user["username"] == unique
    assert response.headers["Location"] == f"/api/v1/users/{user['id']}"
    assert_deprecated(response, "/api/v1/users")


async def test_postman_replace_ignores_the_id_in_the_body(client: Client, unique: str) -> None:
    created = await (
        await client.post("/users", json={"username": unique, "full_name": "b", "email": "b@b.co"})
    ).get_json()

    response = await client.put(
        f"/users/{created['id']}",
        data=postman_body(id="15", username=f"{unique}e", full_name="b", email="elton@elton.com"),
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 200
    replaced = await response.get_json()
    assert replaced["id"] == created["id"]
    assert replaced["username"] == f"{unique}e"
    assert_deprecated(response, f"/api/v1/users/{created['id']}")


async def test_get_patch_and_delete_by_id(client: Client, unique: str) -> None:
    created = await (
        await client.post("/users", json={"username": unique, "full_name": "A", "email": "a@b.co"})
    ).get_json()
    path = f"/users/{created['id']}"

    fetched = await client.get(path)
    patched = await client.patch(path, json={"full_name": "Patched"})
    deleted = await client.delete(path)
    gone = await client.get(path)

    assert fetched.status_code == 200
    assert await fetched.get_json() == created
    assert patched.status_code == 200
    assert (await patched.get_json())["full_name"] == "Patched"
    assert deleted.status_code == 204
    assert gone.status_code == 404
    for response in (fetched, patched, deleted, gone):
        assert_deprecated(response, f"/api/v1{path}")


@pytest.mark.usefixtures("empty_users_table")
async def test_list_is_a_plain_array(client: Client) -> None:
    empty = await client.get("/users", data="", headers={"Content-Type": "text/plain"})
    await client.post("/users", json={"username": "el7", "full_name": "E", "email": "e@e.co"})
    await client.post("/users", json={"username": "el8", "full_name": "E", "email": "e@e.co"})
    by_name = await client.get("/users?username=el7")
    everything = await client.get("/users")

    assert empty.status_code == 200
    assert await empty.get_json() == []
    assert empty.headers["X-Total-Count"] == "0"
    assert [user["username"] for user in await by_name.get_json()] == ["el7"]
    assert [user["username"] for user in await everything.get_json()] == ["el7", "el8"]
    assert everything.headers["X-Total-Count"] == "2"
    assert_deprecated(everything, "/api/v1/users")


async def test_errors_are_problems_and_still_marked_deprecated(client: Client) -> None:
    missing = await client.delete("/users/300")
    invalid = await client.post(
        "/users", data=json.dumps({"username": "x"}), headers={"Content-Type": "text/plain"}
    )

    assert missing.status_code == 404
    assert missing.content_type == "application/problem+json"
    assert_deprecated(missing, "/api/v1/users/300")
    assert invalid.status_code == 422
    assert_deprecated(invalid, "/api/v1/users")


async def test_duplicate_username_is_409(client: Client, unique: str) -> None:
    body = {"username": unique, "full_name": "A", "email": "a@b.co"}
    await client.post("/users", json=body)

    response = await client.post("/users", json={**body, "username": unique.upper()})

    assert response.status_code == 409
