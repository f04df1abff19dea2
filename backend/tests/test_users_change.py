"""GET, PUT, PATCH and DELETE of one user under /api/v1/users against the real database."""

from __future__ import annotations

import pytest
from quart.typing import TestClientProtocol as Client
from user_requests import PROBLEM, body_for, create, field_messages

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
