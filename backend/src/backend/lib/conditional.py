"""Versions of representations (ETag) and conditional requests (RFC 9110, section 13).

A user's version is its id and `updated_at` to the microsecond, which the database moves on
every change of a value: `"7-20261129140000123456"`. It is decoded back for `If-Match`, so
that the write itself compares it (backend.queries), in the same statement. A list page's
version is a digest of the page's bytes.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from quart import Response, request

# Each answer may be stored, but must be revalidated before use, and only by the client.
CACHE_CONTROL = "private, no-cache"
_USER_TAG = re.compile(r"^(\d{1,20})-(\d{20})$")
_TIMESTAMP_DIGITS = "%Y%m%d%H%M%S%f"


def user_tag(user: dict[str, Any]) -> str:
    """The user's version, unquoted (`updated_at` as the API writes it: ...T14:00:00.123456Z)."""
    digits = "".join(char for char in user["updated_at"] if char.isdigit())
    return f"{user['id']}-{digits}"


def page_tag(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def expected_versions(user_id: int) -> list[datetime] | None:
    """The `updated_at` values `If-Match` allows for this user: None without the header (or
    with `*`), so the write is unconditional; an empty list when no tag can match."""
    if "If-Match" not in request.headers:
        return None
    tags = request.if_match
    if tags.star_tag:
        return None
    versions = []
    # Strong tags only (If-Match compares strongly); werkzeug gives None for an empty one.
    for tag in tags.as_set():
        match = _USER_TAG.match(tag or "")
        if match and int(match[1]) == user_id:
            try:
                versions.append(datetime.strptime(match[2], _TIMESTAMP_DIGITS))
            except ValueError:
                continue
    return versions


def tagged(response: Response, tag: str) -> Response:
    """The answer with its version; 304 without a body when `If-None-Match` names it."""
    if request.method in {"GET", "HEAD"} and request.if_none_match.contains_weak(tag):
        response = Response(status=304)
        response.headers.pop("Content-Type", None)
    response.set_etag(tag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
