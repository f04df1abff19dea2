"""Request-side helpers: body parsing rules and CORS (request ids: servicekit.request_id)."""

from __future__ import annotations

import json
from typing import Any

from quart import Quart, Response, request

from backend.lib.problems import ApiProblem

MAX_BODY_BYTES = 64 * 1024


def _is_json_mimetype(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


async def read_json_body() -> Any:
    """Parse the body as JSON when it is declared JSON, text/plain or not declared at all.

    Older clients of this API (and their Postman collection) send JSON as text/plain, so that
    type is accepted too; any other declared type is refused with 415.
    """
    mimetype = request.mimetype
    if mimetype and mimetype != "text/plain" and not _is_json_mimetype(mimetype):
        raise ApiProblem(415, f"send the body as application/json, not {mimetype}")
    raw = await request.get_data(as_text=False)
    if not raw.strip():
        raise ApiProblem(400, "the request body is empty: send a JSON object")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ApiProblem(400, f"the request body is not valid JSON: {error}") from None


def register_cors(app: Quart, origins: list[str]) -> None:
    """Answer cross-origin requests from the configured origins; nothing is added when empty."""
    if not origins:
        return
    allow_any = "*" in origins
    allowed = set(origins)

    @app.after_request
    async def add_cors_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin is None or not (allow_any or origin in allowed):
            return response
        response.headers["Access-Control-Allow-Origin"] = "*" if allow_any else origin
        response.headers["Access-Control-Expose-Headers"] = (
            "Location, X-Request-ID, Retry-After, Deprecation, Link, ETag"
        )
        if not allow_any:
            response.vary.add("Origin")
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = (
                "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            )
            response.headers["Access-Control-Allow-Headers"] = (
                "Content-Type, X-Request-ID, If-Match, If-None-Match"
            )
            response.headers["Access-Control-Max-Age"] = "600"
        return response
