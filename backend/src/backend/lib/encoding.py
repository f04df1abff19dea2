"""JSON encoding shared by every response."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from quart import Response

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_bytes(data: Any) -> bytes:
    return _encoder.encode(data).encode()


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    # Built directly rather than through the framework's conversion: the user routes are the hot
    # path and their payloads are plain dicts and lists already.
    response = Response(json_bytes(data), status=status, content_type="application/json")
    if headers:
        response.headers.update(headers)
    return response
