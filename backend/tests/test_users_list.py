"""GET /api/v1/users (pages, filters, search) and the errors of any route."""

from __future__ import annotations

import pytest
from quart.typing import TestClientProtocol as Client
from user_requests import PROBLEM, create, field_messages

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
