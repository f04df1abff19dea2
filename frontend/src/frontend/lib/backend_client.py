"""The one HTTP client the pages use to reach the users API.

A single `httpx.AsyncClient` per worker (opened when the app starts serving, closed when it
stops) keeps connections pooled. Every call has a hard time budget; only GETs are retried,
once, because repeating a POST/PUT/DELETE whose answer was lost could apply it twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from quart import current_app
from servicekit.request_id import REQUEST_ID_HEADER, current_request_id

from frontend.lib.metrics import observe_backend_call

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 1.0
HEALTH_TIMEOUT = 2.0
USER_FIELDS = ("username", "full_name", "email")


class User(BaseModel):
    id: int
    username: str
    full_name: str
    email: str
    created_at: datetime
    updated_at: datetime | None = None


class UserPage(BaseModel):
    items: list[User]
    total: int
    limit: int
    offset: int


ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass
class HealthReport:
    ok: bool
    reason: str
    database: dict[str, Any] | None = None

    @property
    def database_figures(self) -> list[tuple[str, str]]:
        """The plain figures of the backend's database report (latency, pool...), for display."""
        figures = []
        for name, value in (self.database or {}).items():
            if name == "status" or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if name.endswith("_ms"):
                figures.append((name.removesuffix("_ms").replace("_", " "), f"{value} ms"))
            else:
                figures.append((name.replace("_", " "), str(value)))
        return figures[:4]


class BackendError(Exception):
    """Base of every failure the pages turn into a response."""


class BackendUnavailable(BackendError):
    """Unreachable, too slow, or answering 5xx: the page says "try again later" (503)."""

    def __init__(self, reason: str, retry_after: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> dict[str, str]:
        """Retry-After for our own 503: the backend's hint when it is plain seconds, else 5."""
        hint = self.retry_after or ""
        return {"Retry-After": hint if hint.isdigit() else "5"}


class UserNotFound(BackendError):
    """The backend answered 404 for a user id."""


@dataclass
class InvalidInput(BackendError):
    """The backend refused the submitted fields (400, 409 or 422)."""

    status: int
    field_errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None


def _outcome(status: int) -> str:
    if status < 400:
        return "success"
    return "client_error" if status < 500 else "server_error"


def _invalid_input(response: httpx.Response) -> InvalidInput:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    field_errors: dict[str, str] = {}
    general: list[str] = []
    for error in problem.get("errors") or []:
        if not isinstance(error, dict):
            continue
        message = str(error.get("message") or "is not valid")
        # The backend names the top-level field itself ("username", "body", "limit", ...).
        name = error.get("field")
        if name in USER_FIELDS:
            field_errors.setdefault(name, message)
        else:
            general.append(message)
    if response.status_code == 409:
        field_errors.setdefault("username", "username is already taken")
    if not field_errors and not general:
        general.append(str(problem.get("detail") or "The submitted data was not accepted."))
    return InvalidInput(
        status=response.status_code,
        field_errors=field_errors,
        message=" ".join(general) or None,
    )


class BackendClient:
    def __init__(
        self,
        base_url: str,
        *,
        total_timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.total_timeout = total_timeout
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    async def open(self) -> None:
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=self._transport,
            timeout=httpx.Timeout(self.total_timeout, connect=CONNECT_TIMEOUT),
            # Every connection opened under load is kept for the next calls: with fewer kept
            # than opened, each burst closes some and opens them again.
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
            headers={"Accept": "application/json", "User-Agent": "users-frontend"},
            # The backend is on the internal network: never route it through a proxy from env.
            trust_env=False,
        )

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- users API --------------------------------------------------------------------------

    async def list_users(
        self, *, q: str | None = None, limit: int = 20, offset: int = 0
    ) -> UserPage:
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if q:
            params["q"] = q
        response = await self._call("GET", "/api/v1/users", "list_users", params=params)
        if response.status_code != 200:
            raise _invalid_input(response)
        return self._parse(UserPage, response)

    async def get_user(self, user_id: int) -> User:
        response = await self._call("GET", f"/api/v1/users/{user_id}", "get_user")
        self._raise_for_user_status(response, expected=200)
        return self._parse(User, response)

    async def create_user(self, fields: dict[str, str]) -> User:
        response = await self._call("POST", "/api/v1/users", "create_user", json=fields)
        self._raise_for_user_status(response, expected=201)
        return self._parse(User, response)

    async def update_user(self, user_id: int, fields: dict[str, str]) -> User:
        response = await self._call("PUT", f"/api/v1/users/{user_id}", "update_user", json=fields)
        self._raise_for_user_status(response, expected=200)
        return self._parse(User, response)

    async def delete_user(self, user_id: int) -> None:
        response = await self._call("DELETE", f"/api/v1/users/{user_id}", "delete_user")
        self._raise_for_user_status(response, expected=204)

    async def health(self) -> HealthReport:
        """The backend's own health, within HEALTH_TIMEOUT; never raises."""
        try:
            response = await self._call(
                "GET", "/healthz", "health", retry=False, budget=HEALTH_TIMEOUT, accept_5xx=True
            )
        except BackendUnavailable as error:
            return HealthReport(ok=False, reason=error.reason)
        try:
            body = response.json()
        except ValueError:
            body = {}
        database = body.get("database") if isinstance(body, dict) else None
        database = database if isinstance(database, dict) else None
        if response.status_code == 200:
            return HealthReport(ok=True, reason="ok", database=database)
        detail = (body.get("detail") or body.get("reason")) if isinstance(body, dict) else None
        reason = f"backend health answered {response.status_code}"
        return HealthReport(ok=False, reason=f"{reason}: {detail}" if detail else reason)

    # -- plumbing ---------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        retry: bool = True,
        budget: float | None = None,
        accept_5xx: bool = False,
    ) -> httpx.Response:
        if self._http is None:
            raise RuntimeError("BackendClient.open() was not awaited (app not serving)")
        attempts = 2 if retry and method == "GET" else 1
        request_id = current_request_id()
        headers = {REQUEST_ID_HEADER: request_id} if request_id else {}
        failure = "backend unreachable"
        try:
            async with asyncio.timeout(budget or self.total_timeout):
                for _attempt in range(attempts):
                    started = time.perf_counter()
                    try:
                        response = await self._http.request(
                            method, path, params=params, json=json, headers=headers
                        )
                    except httpx.TimeoutException:
                        observe_backend_call(operation, "timeout", time.perf_counter() - started)
                        failure = "backend timed out"
                        continue
                    except httpx.TransportError as error:
                        observe_backend_call(
                            operation, "unreachable", time.perf_counter() - started
                        )
                        failure = f"backend unreachable ({type(error).__name__})"
                        continue
                    except asyncio.CancelledError:
                        observe_backend_call(operation, "timeout", time.perf_counter() - started)
                        raise
                    observe_backend_call(
                        operation, _outcome(response.status_code), time.perf_counter() - started
                    )
                    if response.status_code >= 500 and not accept_5xx:
                        raise BackendUnavailable(
                            f"backend answered {response.status_code}",
                            retry_after=response.headers.get("Retry-After"),
                        )
                    return response
        except TimeoutError:
            failure = "backend timed out"
        logger.warning("backend call failed", extra={"operation": operation, "reason": failure})
        raise BackendUnavailable(failure)

    @staticmethod
    def _raise_for_user_status(response: httpx.Response, *, expected: int) -> None:
        if response.status_code == expected:
            return
        if response.status_code == 404:
            raise UserNotFound()
        if response.status_code in (400, 409, 422):
            raise _invalid_input(response)
        raise BackendUnavailable(f"unexpected backend answer {response.status_code}")

    @staticmethod
    def _parse(model: type[ModelT], response: httpx.Response) -> ModelT:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            logger.error("unexpected backend payload", extra={"errors": error.errors()})
            raise BackendUnavailable("unexpected backend answer") from error


def backend() -> BackendClient:
    """The current app's client (created by `create_app`)."""
    return current_app.extensions["backend"]
