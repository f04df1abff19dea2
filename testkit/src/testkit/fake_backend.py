"""An in-memory stand-in for the users API, plugged into the frontend with httpx.MockTransport.

It follows the API's documented behaviour (validation, 409 on a taken username, 404, 204) and
records every request, so tests can check what the pages sent, or that nothing was sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx

USERNAME = re.compile(r"[A-Za-z0-9._-]{3,32}")
Failure = Exception | httpx.Response | Callable[[httpx.Request], Awaitable[httpx.Response]]


def problem(status: int, title: str, errors: list[dict[str, str]] | None = None) -> httpx.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": title}
    if errors is not None:
        body["errors"] = errors
    headers = {"Content-Type": "application/problem+json"}
    if status == 503:
        headers["Retry-After"] = "3"
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers)


# What the real backend's /healthz answers while the database is up (tests/test_contracts.py
# checks that both have the same shape).
HEALTHY = {
    "status": "ok",
    "database": {
        "status": "ok",
        "latency_ms": 0.4,
        "pool": {"size": 1, "free": 1, "in_use": 0, "max": 10},
    },
}


class FakeBackend:
    """The users API in memory, as the frontend sees it through httpx."""

    def __init__(self) -> None:
        self.users: dict[int, dict[str, object]] = {}
        self.next_id = 1
        self.requests: list[httpx.Request] = []
        # Changes per user id, for the version (ETag) the real backend derives from updated_at.
        self.changes: dict[int, int] = {}
        # Answers for the next requests, in order, before normal handling resumes.
        self.queued_failures: list[Failure] = []
        # When set, every request gets this answer.
        self.outage: Failure | None = None

    def add_user(
        self, username: str, full_name: str = "Test User", email: str = "test@example.com"
    ) -> dict[str, object]:
        now = datetime(2026, 11, 29, 14, 0, tzinfo=UTC).isoformat().replace("+00:00", "Z")
        user = {
            "id": self.next_id,
            "username": username,
            "full_name": full_name,
            "email": email,
            "created_at": now,
            "updated_at": now,
        }
        self.users[self.next_id] = user
        self.next_id += 1
        return user

    def api_requests(self) -> list[httpx.Request]:
        return [request for request in self.requests if request.url.path.startswith("/api/")]

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        failure = self.queued_failures.pop(0) if self.queued_failures else self.outage
        if failure is not None:
            if isinstance(failure, Exception):
                raise failure
            if isinstance(failure, httpx.Response):
                return failure
            return await failure(request)
        return self._route(request)

    def _route(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/healthz":
            return httpx.Response(200, json=HEALTHY)
        if path == "/api/v1/users":
            if method == "GET":
                return self._list(request)
            if method == "POST":
                return self._save(None, json.loads(request.content))
        match = re.fullmatch(r"/api/v1/users/(\d+)", path)
        if match:
            user = self.users.get(int(match.group(1)))
            if user is None:
                return problem(404, "user not found")
            if_match = request.headers.get("If-Match")
            if method in {"PUT", "DELETE"} and if_match not in {None, "*", self.version_of(user)}:
                return problem(412, "this user was changed after you loaded it")
            if method == "GET":
                return httpx.Response(200, json=user, headers={"ETag": self.version_of(user)})
            if method == "PUT":
                return self._save(user, json.loads(request.content))
            if method == "DELETE":
                del self.users[user["id"]]
                return httpx.Response(204)
        return problem(404, "not found")

    def _list(self, request: httpx.Request) -> httpx.Response:
        q = request.url.params.get("q", "").lower()
        limit = int(request.url.params.get("limit", "20"))
        offset = int(request.url.params.get("offset", "0"))
        matches = [
            user
            for user in self.users.values()
            if not q
            or any(q in str(user[name]).lower() for name in ("username", "full_name", "email"))
        ]
        return httpx.Response(
            200,
            json={
                "items": matches[offset : offset + limit],
                "total": len(matches),
                "limit": limit,
                "offset": offset,
            },
        )

    def _save(self, user: dict[str, object] | None, body: dict[str, str]) -> httpx.Response:
        fields = {
            name: str(body.get(name, "")).strip() for name in ("username", "full_name", "email")
        }
        errors = []
        if not USERNAME.fullmatch(fields["username"]):
            errors.append({"field": "username", "message": "username must be 3-32 characters"})
        if not fields["full_name"]:
            errors.append({"field": "full_name", "message": "full_name must not be blank"})
        if "@" not in fields["email"]:
            errors.append({"field": "email", "message": "email is not a valid address"})
        if errors:
            return problem(422, "invalid user", errors)
        taken = any(
            other["username"].lower() == fields["username"].lower()
            for other in self.users.values()
            if other is not user
        )
        if taken:
            return problem(
                409, "conflict", [{"field": "username", "message": "username is already taken"}]
            )
        if user is None:
            created = self.add_user(**fields)
            return httpx.Response(
                201, json=created, headers={"Location": f"/api/v1/users/{created['id']}"}
            )
        user.update(fields)
        self.changes[user["id"]] = self.changes.get(user["id"], 0) + 1
        return httpx.Response(200, json=user, headers={"ETag": self.version_of(user)})

    def version_of(self, user: dict[str, object]) -> str:
        """The user's ETag: it changes with every PUT, as the real one does with a change."""
        return f'"{user["id"]}-{self.changes.get(int(user["id"]), 0)}"'

    def change_behind_the_pages_back(self, user_id: int, **fields: str) -> None:
        """Someone else's change, made straight in the backend."""
        self.users[user_id].update(fields)
        self.changes[user_id] = self.changes.get(user_id, 0) + 1
