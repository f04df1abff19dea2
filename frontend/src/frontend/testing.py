"""Test helpers (imported by tests only).

`FakeBackend` is an in-memory stand-in for the users API, plugged into the app with
httpx.MockTransport. It follows the API's documented behaviour (validation, 409 on a taken
username, 404, 204) and records every request, so tests can check what the pages sent, or
that nothing was sent.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from backend.testing import free_port, wait_until

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
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


class FakeBackend:
    def __init__(self) -> None:
        self.users: dict[int, dict[str, object]] = {}
        self.next_id = 1
        self.requests: list[httpx.Request] = []
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
            return httpx.Response(200, json={"status": "ok", "database": {"pool_size": 10}})
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
            if method == "GET":
                return httpx.Response(200, json=user)
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
        return httpx.Response(200, json=user)


def csrf_token_in(html: str) -> str:
    """The CSRF token of the (first) form in a page."""
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


# -- real processes -------------------------------------------------------------------------


def frontend_command() -> list[str]:
    script = Path(sys.executable).with_name("frontend")
    return [str(script)] if script.exists() else [sys.executable, "-m", "frontend"]


@dataclass
class ServedFrontend:
    """A `frontend serve` process on free loopback ports, in its own process group."""

    process: subprocess.Popen[bytes]
    port: int
    metrics_port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def stop(self, *, whole_group: bool = True, timeout: float = 20) -> int:
        """SIGTERM (to the process group, as process managers do) and wait for the exit."""
        if self.process.poll() is None:
            if whole_group:
                os.killpg(self.process.pid, signal.SIGTERM)
            else:
                self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise


def start_frontend(
    backend_url: str, log_dir: Path, *, startup_timeout: float = 30, **env: str
) -> ServedFrontend:
    port, metrics_port = free_port(), free_port()
    process_env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("FRONTEND_") and name != "PROMETHEUS_MULTIPROC_DIR"
    }
    process_env.update(
        FRONTEND_HOST="127.0.0.1",
        FRONTEND_PORT=str(port),
        FRONTEND_METRICS_PORT=str(metrics_port),
        FRONTEND_BACKEND_URL=backend_url,
        **{f"FRONTEND_{name.upper()}": value for name, value in env.items()},
    )
    log_path = log_dir / f"frontend-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*frontend_command(), "serve"],
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = ServedFrontend(process, port, metrics_port, log_path)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"frontend exited early:\n{log_path.read_text()}")
        try:
            live = httpx.get(f"{served.base_url}/livez", timeout=1, trust_env=False)
            metrics = httpx.get(served.metrics_url, timeout=1, trust_env=False)
        except httpx.TransportError:
            return False
        return live.status_code == 200 and metrics.status_code == 200

    try:
        wait_until(ready, timeout=startup_timeout, what="frontend to answer /livez")
    except BaseException:
        served.stop()
        raise
    return served
