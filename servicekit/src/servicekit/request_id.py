"""Request ids: the caller's X-Request-ID when it is a sane token, otherwise a new one."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

REQUEST_ID_HEADER = "X-Request-ID"
# Short and plain, so that a caller's id is safe in logs and headers.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_current: ContextVar[str] = ContextVar("request_id", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(sent: str | None) -> str:
    """`sent` (the header's value) when it is safe to reuse, otherwise a new id."""
    return sent if sent and _SAFE_REQUEST_ID.fullmatch(sent) else new_request_id()


def current_request_id() -> str:
    """The id of the request being answered; empty outside a request."""
    return _current.get()


def set_current_request_id(request_id: str) -> Token[str]:
    """Make `request_id` current; returns the token `reset_current_request_id` takes."""
    return _current.set(request_id)


def reset_current_request_id(token: Token[str]) -> None:
    _current.reset(token)
