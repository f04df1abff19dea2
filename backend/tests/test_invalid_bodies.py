"""Every route that reads a body answers an invalid one with the same problem document."""

from __future__ import annotations

import pytest
from quart.typing import TestClientProtocol as Client

BEYOND_ANY_ID = 2**70  # the body is judged before the id, so no user needs to exist

BODY_ROUTES = [
    ("POST", "/api/v1/users"),
    ("PUT", f"/api/v1/users/{BEYOND_ANY_ID}"),
    ("PATCH", f"/api/v1/users/{BEYOND_ANY_ID}"),
    ("POST", "/users"),
    ("PUT", f"/users/{BEYOND_ANY_ID}"),
    ("PATCH", f"/users/{BEYOND_ANY_ID}"),
]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_invalid_fields_are_a_422_problem_naming_each_field(
    client: Client, method: str, path: str
) -> None:
    body = {"username": "x", "full_name": " ", "email": 5, "nested": {"username": 1}}

    response = await client.open(path, method=method, json=body)

    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    problem = await response.get_json()
    assert set(problem) == {"type", "title", "status", "detail", "errors"}
    assert (problem["type"], problem["title"], problem["status"]) == (
        "about:blank",
        "Unprocessable Entity",
        422,
    )
    # Top-level names as they are: the frontend matches them against its own field names.
    assert [error["field"] for error in problem["errors"]] == ["username", "full_name", "email"]
    assert all(set(error) == {"field", "message"} for error in problem["errors"])
    assert problem["detail"] == "; ".join(error["message"] for error in problem["errors"])


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_a_body_that_is_not_an_object_is_a_422_problem_about_the_body(
    client: Client, method: str, path: str
) -> None:
    response = await client.open(path, method=method, json=[1, 2])

    assert response.status_code == 422
    problem = await response.get_json()
    assert problem["errors"] == [
        {"field": "body", "message": "the request body must be a JSON object"}
    ]
