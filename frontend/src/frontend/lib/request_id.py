"""Every request gets an id: taken from X-Request-ID when sane, otherwise generated."""

from __future__ import annotations

import re
import uuid

from quart import Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is reused only when short and plain, so it is safe in logs and headers.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


async def assign_request_id() -> None:
    """`before_request` hook."""
    _assign()


def _assign() -> str:
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = sent if _VALID_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    return g.request_id


def current_request_id() -> str:
    if "request_id" not in g:
        return _assign()
    return g.request_id


async def echo_request_id(response: Response) -> Response:
    """`after_request` hook."""
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    return response
