"""What the users API answers, as the pages use it: models, health, and the failures the
pages turn into responses (raised by frontend.lib.backend_client)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel

USER_FIELDS = ("username", "full_name", "email")


class User(BaseModel):
    id: int
    username: str
    full_name: str
    email: str
    created_at: datetime
    updated_at: datetime | None = None
    # The backend's ETag for this state of the user (If-Match on a change); not in the body.
    version: str | None = None


class UserPage(BaseModel):
    items: list[User]
    total: int
    limit: int
    offset: int


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


class UserChanged(BackendError):
    """The backend answered 412: the user changed after the version the page was based on."""


@dataclass
class InvalidInput(BackendError):
    """The backend refused the submitted fields (400, 409 or 422)."""

    status: int
    field_errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None


def invalid_input(response: httpx.Response) -> InvalidInput:
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
