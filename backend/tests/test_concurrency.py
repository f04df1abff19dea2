"""Concurrent requests for the same username: the unique key decides, exactly one wins."""

from __future__ import annotations

import asyncio

from quart.typing import TestClientProtocol as Client


async def test_concurrent_creates_of_one_username_give_one_201_and_the_rest_409(
    client: Client, unique: str
) -> None:
    async def attempt(index: int) -> int:
        # Different case on each attempt: the collation makes them all the same name.
        name = unique.upper() if index % 2 else unique
        response = await client.post(
            "/api/v1/users",
            json={"username": name, "full_name": f"Racer {index}", "email": "r@example.com"},
        )
        return response.status_code

    statuses = await asyncio.gather(*(attempt(index) for index in range(10)))

    assert sorted(statuses) == [201] + [409] * 9
    page = await (await client.get(f"/api/v1/users?username={unique}")).get_json()
    assert page["total"] == 1


async def test_concurrent_renames_to_one_username_give_one_200(client: Client, unique: str) -> None:
    ids = []
    for index in range(6):
        response = await client.post(
            "/api/v1/users",
            json={"username": f"{unique}s{index}", "full_name": "R", "email": "r@example.com"},
        )
        ids.append((await response.get_json())["id"])

    async def rename(user_id: int) -> int:
        response = await client.patch(f"/api/v1/users/{user_id}", json={"username": unique})
        return response.status_code

    statuses = await asyncio.gather(*(rename(user_id) for user_id in ids))

    assert sorted(statuses) == [200] + [409] * 5
