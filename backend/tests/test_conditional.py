"""Versions (ETag), revalidation (If-None-Match -> 304) and no lost updates (If-Match -> 412)."""

from __future__ import annotations

import asyncio

import pytest
from quart.typing import TestClientProtocol as Client
from user_requests import PROBLEM, body_for, create


async def current_tag(client: Client, user_id: int) -> str:
    response = await client.get(f"/api/v1/users/{user_id}")
    assert response.status_code == 200
    return response.headers["ETag"]


async def test_a_user_has_a_strong_version_from_its_id_and_change_time(
    client: Client, unique: str
) -> None:
    user = await create(client, unique)

    response = await client.get(f"/api/v1/users/{user['id']}")

    digits = "".join(char for char in user["updated_at"] if char.isdigit())
    assert response.headers["ETag"] == f'"{user["id"]}-{digits}"'
    assert response.headers["Cache-Control"] == "private, no-cache"


async def test_if_none_match_with_the_current_version_is_304_without_a_body(
    client: Client, unique: str
) -> None:
    user = await create(client, unique)
    tag = await current_tag(client, user["id"])

    for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        response = await client.get(f"/api/v1/users/{user['id']}", headers={"If-None-Match": sent})
        assert response.status_code == 304, sent
        assert await response.get_data() == b""
        assert response.headers["ETag"] == tag

    stale = await client.get(f"/api/v1/users/{user['id']}", headers={"If-None-Match": '"1-2"'})
    assert stale.status_code == 200
    assert await stale.get_json() == user


async def test_a_change_gives_a_new_version_and_the_answer_carries_it(
    client: Client, unique: str
) -> None:
    user = await create(client, unique)
    before = await current_tag(client, user["id"])

    changed = await client.patch(f"/api/v1/users/{user['id']}", json={"full_name": "Ana Nova"})

    assert changed.status_code == 200
    assert changed.headers["ETag"] != before
    assert changed.headers["ETag"] == await current_tag(client, user["id"])
    revalidated = await client.get(f"/api/v1/users/{user['id']}", headers={"If-None-Match": before})
    assert revalidated.status_code == 200
    assert (await revalidated.get_json())["full_name"] == "Ana Nova"


async def test_a_list_page_has_a_version_that_follows_its_content(
    client: Client, unique: str
) -> None:
    user = await create(client, unique)
    path = f"/api/v1/users?username={unique}"
    first = await client.get(path)
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"

    again = await client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert await again.get_data() == b""

    await client.patch(f"/api/v1/users/{user['id']}", json={"email": "new@example.com"})
    after = await client.get(path, headers={"If-None-Match": tag})
    assert after.status_code == 200
    assert after.headers["ETag"] != tag
    assert (await after.get_json())["items"][0]["email"] == "new@example.com"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_if_match_with_an_older_version_is_412_and_changes_nothing(
    client: Client, unique: str, method: str
) -> None:
    user = await create(client, unique)
    stale = await current_tag(client, user["id"])
    await client.patch(f"/api/v1/users/{user['id']}", json={"full_name": "First Change"})
    current = await client.get(f"/api/v1/users/{user['id']}")

    response = await client.open(
        f"/api/v1/users/{user['id']}",
        method=method,
        json=None if method == "DELETE" else body_for(unique, full_name="Second Change"),
        headers={"If-Match": stale},
    )

    assert response.status_code == 412
    assert response.content_type == PROBLEM
    problem = await response.get_json()
    assert problem["status"] == 412
    assert "was changed after you loaded it" in problem["detail"]
    now = await client.get(f"/api/v1/users/{user['id']}")
    assert await now.get_json() == await current.get_json()


async def test_if_match_with_the_current_version_applies_the_change(
    client: Client, unique: str
) -> None:
    user = await create(client, unique)
    tag = await current_tag(client, user["id"])

    replaced = await client.put(
        f"/api/v1/users/{user['id']}",
        json=body_for(unique, full_name="Replaced"),
        headers={"If-Match": f'"0-1", {tag}'},
    )
    assert replaced.status_code == 200
    assert (await replaced.get_json())["full_name"] == "Replaced"

    patched = await client.patch(
        f"/api/v1/users/{user['id']}",
        json={"full_name": "Patched"},
        headers={"If-Match": replaced.headers["ETag"]},
    )
    assert patched.status_code == 200

    deleted = await client.delete(
        f"/api/v1/users/{user['id']}", headers={"If-Match": patched.headers["ETag"]}
    )
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/users/{user['id']}")).status_code == 404


async def test_tags_that_cannot_be_this_users_version_never_match(
    client: Client, unique: str
) -> None:
    user = await create(client, unique)
    other = await create(client, f"{unique}o")
    others_tag = await current_tag(client, other["id"])

    weak = f"W/{await current_tag(client, user['id'])}"
    for sent in (others_tag, weak, '"garbage"', '"", W/""', ""):
        response = await client.patch(
            f"/api/v1/users/{user['id']}", json={}, headers={"If-Match": sent}
        )
        assert response.status_code == 412, sent


async def test_if_match_star_or_no_if_match_writes_as_before(client: Client, unique: str) -> None:
    user = await create(client, unique)

    star = await client.patch(
        f"/api/v1/users/{user['id']}", json={"full_name": "Star"}, headers={"If-Match": "*"}
    )
    plain = await client.patch(f"/api/v1/users/{user['id']}", json={"full_name": "Plain"})

    assert star.status_code == plain.status_code == 200
    assert (await plain.get_json())["full_name"] == "Plain"


async def test_if_match_on_a_user_that_does_not_exist_is_404(client: Client) -> None:
    response = await client.delete("/api/v1/users/999999999", headers={"If-Match": '"1-2"'})

    assert response.status_code == 404


async def test_concurrent_conditional_puts_on_one_version_give_one_200_the_rest_412(
    client: Client, unique: str
) -> None:
    user = await create(client, unique)
    tag = await current_tag(client, user["id"])

    async def attempt(index: int) -> int:
        response = await client.put(
            f"/api/v1/users/{user['id']}",
            json=body_for(unique, full_name=f"Writer {index}"),
            headers={"If-Match": tag},
        )
        return response.status_code

    statuses = await asyncio.gather(*(attempt(index) for index in range(8)))

    assert sorted(statuses) == [200] + [412] * 7
    final = await (await client.get(f"/api/v1/users/{user['id']}")).get_json()
    assert final["full_name"].startswith("Writer ")
