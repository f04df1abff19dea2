"""The users API at /api/v1/users. The rules live in backend.services.users."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request
from quart_schema import document_querystring, document_request, document_response, tag_blueprint

from backend.lib.conditional import expected_versions, page_tag, tagged, user_tag
from backend.lib.encoding import json_response
from backend.lib.http import read_json_body
from backend.models.users import (
    NoContent,
    NotModified,
    Problem,
    User,
    UserCreate,
    UserList,
    UserListQuery,
    UserReplace,
    UserUpdate,
)
from backend.services import users

api = Blueprint("users", __name__, url_prefix="/api/v1")
tag_blueprint(api, ["users"])

# --- what the legacy aliases document and answer alike -----------------------------------------

documents_unavailable = document_response(Problem, 503)


def documents_body_errors(handler: Any) -> Any:
    """Documents what every route that reads a JSON body may answer about that body."""
    for status in (400, 413, 415, 422):
        handler = document_response(Problem, status)(handler)
    return handler


def created(user: dict[str, Any]) -> Response:
    return json_response(user, 201, {"Location": f"/api/v1/users/{user['id']}"})


def no_content() -> Response:
    response = Response(status=204)
    # A 204 has no body, so no Content-Type either (Quart would say text/html).
    response.headers.pop("Content-Type", None)
    return response


# --- /api/v1 -----------------------------------------------------------------------------------


def user_response(user: dict[str, Any], status: int = 200) -> Response:
    return tagged(json_response(user, status), user_tag(user))


@api.get("/users")
@document_querystring(UserListQuery)
@document_response(UserList, 200)
@document_response(NotModified, 304)
@document_response(Problem, 422)
@documents_unavailable
async def list_users() -> Response:
    """List users

    Filters: `username` (exact, case-insensitive), `q` (substring of username, full name or
    email). Ordered by id; `limit` 1-100 (default 20) and `offset` page through the result.
    """
    items, total, query = await users.list_users(request.args.to_dict())
    response = json_response(
        {"items": items, "total": total, "limit": query.limit, "offset": query.offset}
    )
    return tagged(response, page_tag(await response.get_data()))


@api.get("/users/<int:user_id>")
@document_response(User, 200)
@document_response(NotModified, 304)
@document_response(Problem, 404)
@documents_unavailable
async def get_user(user_id: int) -> Response:
    """Get one user

    The answer's `ETag` is the user's version: send it back in `If-None-Match` to get 304
    while the user is unchanged, or in `If-Match` to change or delete it only if unchanged.
    """
    return user_response(await users.get_user(user_id))


@api.post("/users")
@document_request(UserCreate)
@document_response(User, 201)
@document_response(Problem, 409)
@documents_body_errors
@documents_unavailable
async def create_user() -> Response:
    """Create a user

    The body is JSON (sent as application/json, text/plain or without a Content-Type).
    Answers 201 with the user and its URL in `Location`; 409 when the username is taken,
    whatever its case.
    """
    return created(await users.create_user(await read_json_body()))


@api.put("/users/<int:user_id>")
@document_request(UserReplace)
@document_response(User, 200)
@document_response(Problem, 404)
@document_response(Problem, 409)
@document_response(Problem, 412)
@documents_body_errors
@documents_unavailable
async def replace_user(user_id: int) -> Response:
    """Replace a user (all three fields)

    With `If-Match`, only while the user is at that version (412 otherwise).
    """
    body = await read_json_body()
    return user_response(await users.replace_user(user_id, body, expected_versions(user_id)))


@api.patch("/users/<int:user_id>")
@document_request(UserUpdate)
@document_response(User, 200)
@document_response(Problem, 404)
@document_response(Problem, 409)
@document_response(Problem, 412)
@documents_body_errors
@documents_unavailable
async def update_user(user_id: int) -> Response:
    """Change some fields of a user

    With `If-Match`, only while the user is at that version (412 otherwise).
    """
    body = await read_json_body()
    return user_response(await users.update_user(user_id, body, expected_versions(user_id)))


@api.delete("/users/<int:user_id>")
@document_response(NoContent, 204)
@document_response(Problem, 404)
@document_response(Problem, 412)
@documents_unavailable
async def delete_user(user_id: int) -> Response:
    """Delete a user

    With `If-Match`, only while the user is at that version (412 otherwise).
    """
    await users.delete_user(user_id, expected_versions(user_id))
    return no_content()
