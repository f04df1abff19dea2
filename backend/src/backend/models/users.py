"""What the users API accepts and returns (each field's rules: backend.models.fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.models.fields import (
    EMAIL_MAX,
    FULL_NAME_MAX,
    SEARCH_MAX,
    USERNAME_MAX,
    USERNAME_MIN,
    USERNAME_PATTERN,
    Email,
    FullName,
    Search,
    Username,
)

__all__ = ["USERNAME_MAX", "USERNAME_MIN", "USERNAME_PATTERN"]

RULES = {
    "username": (
        f"username must be {USERNAME_MIN} to {USERNAME_MAX} characters long, "
        "using only letters, digits, '.', '_' and '-'"
    ),
    "full_name": (
        f"full_name must be 1 to {FULL_NAME_MAX} characters long and not blank, "
        "without control characters"
    ),
    "email": f"email must be a valid email address of at most {EMAIL_MAX} characters",
    "limit": "limit must be a whole number from 1 to 100",
    "offset": "offset must be a whole number, 0 or more",
    "q": f"q must be at most {SEARCH_MAX} characters long",
}


class _Input(BaseModel):
    # Unknown fields, and the id and timestamps a client may echo back, are ignored.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class UserCreate(_Input):
    """A new user."""

    username: Username
    full_name: FullName
    email: Email


class UserReplace(UserCreate):
    """The complete new state of a user (all three fields)."""


class UserUpdate(_Input):
    """Any subset of a user's fields; absent fields keep their value."""

    # Absent means "keep"; an explicit null is refused, as none of the fields can be empty.
    username: Username = None  # type: ignore[assignment]
    full_name: FullName = None  # type: ignore[assignment]
    email: Email = None  # type: ignore[assignment]

    def changes(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class User(BaseModel):
    """A user."""

    id: int = Field(examples=[7])
    username: str = Field(examples=["ana"])
    full_name: str = Field(examples=["Ana Lima"])
    email: str = Field(examples=["ana@example.com"])
    created_at: datetime = Field(description="UTC, microseconds, e.g. 2026-11-29T14:00:00.123456Z")
    updated_at: datetime = Field(description="UTC, microseconds, e.g. 2026-11-29T14:00:00.123456Z")


class UserList(BaseModel):
    """A page of users, ordered by id."""

    items: list[User]
    total: int = Field(description="How many users match the filters, over all pages.")
    limit: int
    offset: int


class UserListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    username: str | None = Field(None, description="Exact username, case-insensitive.")
    q: Search | None = None
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000_000)


class NoContent(BaseModel):
    """No content."""


class NotModified(BaseModel):
    """Not modified: the version named in If-None-Match is still the current one."""


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def field_errors(error: Exception) -> list[dict[str, str]]:
    """Turn a pydantic ValidationError into messages a person understands, one per field."""
    if not isinstance(error, ValidationError):
        return [{"field": "body", "message": str(error)}]
    messages: dict[str, str] = {}
    for item in error.errors(include_url=False):
        location = item.get("loc") or ()
        field = str(location[0]) if location else "body"
        if field in messages:
            continue
        messages[field] = _message_for(field, item)
    return [{"field": field, "message": message} for field, message in messages.items()]


def _message_for(field: str, item: Any) -> str:
    kind = item.get("type", "")
    if field == "body":
        return "the request body must be a JSON object"
    if kind == "missing":
        return f"{field} is required"
    if item.get("input", "") is None:
        return f"{field} must not be null"
    if kind in {"string_type", "int_type"} and field not in {"limit", "offset"}:
        return f"{field} must be a string"
    if field == "email" and kind == "value_error":
        reason = str(item.get("ctx", {}).get("reason", "")).strip()
        if reason and reason != "too long":
            return f"email must be a valid email address: {reason}"
    return RULES.get(field, f"{field} is not valid")
