"""The one HTTP client the pages use to reach the users API.

A few `httpx.AsyncClient`s per worker, taken in turn (opened when the app starts serving,
closed when it stops), keep connections pooled; with tracing on, each call is a client span
(opentelemetry-instrumentation-httpx). Every call has a hard time budget; only GETs are
retried, once, because repeating a POST/PUT/DELETE whose answer was lost could apply it twice.
With an AnswerCache, GETs of users and pages are revalidated with If-None-Match (see
answer_cache).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ValidationError
from quart import current_app
from servicekit.request_id import REQUEST_ID_HEADER, current_request_id

from frontend.lib.answer_cache import AnswerCache
from frontend.lib.backend_answers import (
    USER_FIELDS,
    BackendError,
    BackendUnavailable,
    HealthReport,
    InvalidInput,
    User,
    UserChanged,
    UserNotFound,
    UserPage,
    invalid_input,
)
from frontend.lib.metrics import observe_answer_cache, observe_backend_call
from servicekit import tracing

# The pages import these from here, the one client module.
__all__ = [
    "USER_FIELDS",
    "BackendError",
    "BackendUnavailable",
    "HealthReport",
    "InvalidInput",
    "User",
    "UserChanged",
    "UserNotFound",
    "UserPage",
]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 1.0
HEALTH_TIMEOUT = 2.0
# httpcore 1.0's pool looks at every one of its connections twice per request, and asks the
# kernel (poll) about every idle one: its cost grows with the connections it holds, up to a
# quarter of a page's CPU with the ~16 a worker holds under load. Several small pools, taken
# in turn, keep those scans short (bench/README.md: 8 pools against 1, CPU per list page
# -25 %, p99 about halved). Upstream: encode/httpcore#928.
POOLS = 8
CONNECTIONS_PER_POOL = 12  # 96 in all, every one kept for the next calls
ModelT = TypeVar("ModelT", bound=BaseModel)


def _outcome(status: int) -> str:
    if status < 400:
        return "success"
    return "client_error" if status < 500 else "server_error"


class BackendClient:
    def __init__(
        self,
        base_url: str,
        *,
        total_timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        cache_size: int = 0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.total_timeout = total_timeout
        self._transport = transport
        self.answers = AnswerCache(cache_size)
        self._pools: list[httpx.AsyncClient] = []
        self._next_pool = 0
        # The latest health report (with when it was fetched), and the fetch under way if any.
        self._health: tuple[float, HealthReport] | None = None
        self._health_fetch: asyncio.Future[HealthReport] | None = None

    async def open(self) -> None:
        # One TLS context for every pool: each would load the CA bundle again (~25 ms apiece).
        # A plain-http backend (the internal network) has no TLS to verify, and needs none.
        https = httpx.URL(self.base_url).scheme == "https"
        tls = httpx.create_ssl_context() if https else False
        # A transport given (the tests' fake backend) does its own pooling, if any.
        self._pools = [self._new_pool(tls) for _ in range(1 if self._transport else POOLS)]

    def _new_pool(self, tls: ssl.SSLContext | bool) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            base_url=self.base_url,
            transport=self._transport,
            verify=tls,
            timeout=httpx.Timeout(self.total_timeout, connect=CONNECT_TIMEOUT),
            # Every connection opened under load is kept for the next calls: with fewer kept
            # than opened, each burst closes some and opens them again.
            limits=httpx.Limits(
                max_connections=CONNECTIONS_PER_POOL,
                max_keepalive_connections=CONNECTIONS_PER_POOL,
            ),
            headers={"Accept": "application/json", "User-Agent": "users-frontend"},
            # The backend is on the internal network: never route it through a proxy from env.
            trust_env=False,
        )
        if tracing.tracer_provider() is not None:
            # A client span per call, and the W3C traceparent that continues it in the backend.
            # Imported only here: the instrumentation costs each worker ~7 MiB and ~80 ms.
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor.instrument_client(
                client, tracer_provider=tracing.tracer_provider()
            )
        return client

    def _pool(self) -> httpx.AsyncClient:
        if not self._pools:
            raise RuntimeError("BackendClient.open() was not awaited (app not serving)")
        self._next_pool = (self._next_pool + 1) % len(self._pools)
        return self._pools[self._next_pool]

    async def aclose(self) -> None:
        pools, self._pools = self._pools, []
        for client in pools:
            await client.aclose()

    # -- users API --------------------------------------------------------------------------

    async def list_users(
        self, *, q: str | None = None, limit: int = 20, offset: int = 0
    ) -> UserPage:
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if q:
            params["q"] = q
        return await self._get(UserPage, "/api/v1/users", "list_users", params=params)

    async def get_user(self, user_id: int) -> User:
        return await self._get(User, f"/api/v1/users/{user_id}", "get_user")

    async def create_user(self, fields: dict[str, str]) -> User:
        response = await self._call("POST", "/api/v1/users", "create_user", json=fields)
        self._raise_for_user_status(response, expected=201)
        return self._parse(User, response)

    async def update_user(
        self, user_id: int, fields: dict[str, str], version: str | None = None
    ) -> User:
        """Replace the fields; with `version`, only if the user is still at it (UserChanged)."""
        response = await self._call(
            "PUT",
            f"/api/v1/users/{user_id}",
            "update_user",
            json=fields,
            headers=_if_match(version),
        )
        self._raise_for_user_status(response, expected=200)
        return self._user(response)

    async def delete_user(self, user_id: int, version: str | None = None) -> None:
        response = await self._call(
            "DELETE", f"/api/v1/users/{user_id}", "delete_user", headers=_if_match(version)
        )
        self._raise_for_user_status(response, expected=204)

    async def health(self, *, max_age: float = 0.0) -> HealthReport:
        """The backend's own health, within HEALTH_TIMEOUT; never raises.

        With `max_age`, a report fetched at most that many seconds ago will do, and callers
        that come while one is being fetched share it: a page seen by many at once costs the
        backend one health check per `max_age`, not one per view."""
        if max_age <= 0:
            return await self._fetch_health()
        if self._health is not None and time.monotonic() - self._health[0] < max_age:
            return self._health[1]
        if self._health_fetch is None:
            self._health_fetch = asyncio.ensure_future(self._fetch_health())
            self._health_fetch.add_done_callback(self._keep_health)
        # Shielded: one caller giving up (its client went away) must not cancel the others'.
        return await asyncio.shield(self._health_fetch)

    def _keep_health(self, fetch: asyncio.Future[HealthReport]) -> None:
        self._health_fetch = None
        if not fetch.cancelled() and fetch.exception() is None:
            self._health = (time.monotonic(), fetch.result())

    async def _fetch_health(self) -> HealthReport:
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

    async def _get(
        self,
        model: type[ModelT],
        path: str,
        operation: str,
        *,
        params: dict[str, Any] | None = None,
    ) -> ModelT:
        """GET one answer, revalidating a stored one with If-None-Match when the cache is on."""
        key = f"{path}?{urlencode(sorted(params.items()))}" if params else path
        # Taken before the call: another page of this worker may evict it meanwhile.
        stored = self.answers.get(key) if self.answers.enabled else None
        headers = {"If-None-Match": stored.etag} if stored else None
        response = await self._call("GET", path, operation, params=params, headers=headers)
        if response.status_code == 304 and stored is not None:
            observe_answer_cache(operation, "revalidated")
            return stored.value
        if response.status_code != 200:
            self.answers.forget(key)
            if model is UserPage:
                raise invalid_input(response)
            self._raise_for_user_status(response, expected=200)
        value = self._user(response) if model is User else self._parse(model, response)
        etag = response.headers.get("ETag")
        # Only strong ETags: a weak one would not prove that the stored body is the same.
        if self.answers.enabled and etag and not etag.startswith("W/"):
            observe_answer_cache(operation, "stored")
            self.answers.store(key, etag, value)
        return value

    async def _call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        retry: bool = True,
        budget: float | None = None,
        accept_5xx: bool = False,
    ) -> httpx.Response:
        http = self._pool()
        attempts = 2 if retry and method == "GET" else 1
        request_id = current_request_id()
        headers = {**(headers or {}), **({REQUEST_ID_HEADER: request_id} if request_id else {})}
        failure = "backend unreachable"
        try:
            async with asyncio.timeout(budget or self.total_timeout):
                for _attempt in range(attempts):
                    started = time.perf_counter()
                    try:
                        response = await http.request(
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
        if response.status_code == 412:
            raise UserChanged()
        if response.status_code in (400, 409, 422):
            raise invalid_input(response)
        raise BackendUnavailable(f"unexpected backend answer {response.status_code}")

    def _user(self, response: httpx.Response) -> User:
        user = self._parse(User, response)
        user.version = response.headers.get("ETag")
        return user

    @staticmethod
    def _parse(model: type[ModelT], response: httpx.Response) -> ModelT:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            logger.error("unexpected backend payload", extra={"errors": error.errors()})
            raise BackendUnavailable("unexpected backend answer") from error


def _if_match(version: str | None) -> dict[str, str]:
    return {"If-Match": version} if version else {}


def backend() -> BackendClient:
    """The current app's client (created by `create_app`)."""
    return current_app.extensions["backend"]
