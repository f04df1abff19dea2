"""Requests and checks the users API tests share (imported by the test modules beside it)."""

from __future__ import annotations

import re

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
