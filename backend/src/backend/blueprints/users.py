"""The users API at /api/v1/users, and the deprecated aliases at /users kept for older clients."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError
from pymysql.err import IntegrityError
from quart import Blueprint, Response, request
from quart_schema import (
    deprecate_blueprint,
    document_querystring,
    document_request,
    document_response,
    operation_id,
    tag_blueprint,
)

from backend import queries
from backend.lib.db import get_database
from backend.lib.encoding import json_response
from backend.lib.http import read_json_body
from backend.lib.problems import UsernameTaken, UserNotFound, ValidationFailed
from backend.models.users import (
    USERNAME_MAX,
    USERNAME_MIN,
    USERNAME_PATTERN,
    NoContent,
    Problem,
    User,
    UserCreate,
    UserList,
    UserListQuery,
    UserReplace,
    UserUpdate,
    field_errors,
)

ER_DUP_ENTRY = 1062
MAX_USER_ID = 2**64 - 1  # BIGINT UNSIGNED
_USERNAME = re.compile(USERNAME_PATTERN)

api = Blueprint("users", __name__, url_prefix="/api/v1")
tag_blueprint(api, ["users"])

legacy = Blueprint("legacy_users", __name__)
tag_blueprint(legacy, ["legacy"])
deprecate_blueprint(legacy)

# RFC 9745: the legacy routes are deprecated since the /api/v1 routes shipped (2026-01-01).
LEGACY_DEPRECATION = "@1767225600"


# --- the operations, shared by both sets of routes -------------------------------------------


def _parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(field_errors(error)) from None


def _user_location(user_id: int) -> dict[str, str]:
    return {"Location": f"/api/v1/users/{user_id}"}


async def _list_users() -> tuple[list[dict[str, Any]], int, UserListQuery]:
    query = _parse(UserListQuery, request.args.to_dict())
    username = query.username or None
    if username is not None and not (
        USERNAME_MIN <= len(username) <= USERNAME_MAX and _USERNAME.match(username)
    ):
        # No user can have such a name; also keeps the collation's PAD SPACE and ignorable
        # characters from matching something that is not exactly the name asked for.
        return [], 0, query
    async with get_database().connection() as conn:
        items, total = await queries.list_users(
            conn,
            username=username,
            search=query.q or None,
            limit=query.limit,
            offset=query.offset,
        )
    return items, total, query


async def _get_user(user_id: int) -> dict[str, Any]:
    if user_id > MAX_USER_ID:
        raise UserNotFound(user_id)
    async with get_database().connection() as conn:
        user = await queries.select_user(conn, user_id)
    if user is None:
        raise UserNotFound(user_id)
    return user


async def _create_user() -> dict[str, Any]:
    data: UserCreate = _parse(UserCreate, await read_json_body())
    async with get_database().connection() as conn:
        try:
            user_id = await queries.insert_user(
                conn, username=data.username, full_name=data.full_name, email=data.email
            )
        except IntegrityError as error:
            # The unique key decides between concurrent requests for the same name.
            if error.args and error.args[0] == ER_DUP_ENTRY:
                raise UsernameTaken from None
            raise
        user = await queries.select_user(conn, user_id)
    if user is None:  # deleted by someone else in between
        raise UserNotFound(user_id)
    return user


async def _change_user(user_id: int, model: type[UserReplace] | type[UserUpdate]) -> dict:
    data = _parse(model, await read_json_body())
    changes = data.model_dump() if model is UserReplace else data.changes()
    if user_id > MAX_USER_ID:
        raise UserNotFound(user_id)
    async with get_database().connection() as conn:
        try:
            found = await queries.update_user(conn, user_id, changes)
        except IntegrityError as error:
            if error.args and error.args[0] == ER_DUP_ENTRY:
                raise UsernameTaken from None
            raise
        user = await queries.select_user(conn, user_id) if found else None
    if user is None:
        raise UserNotFound(user_id)
    return user


async def _delete_user(user_id: int) -> None:
    if user_id > MAX_USER_ID:
        raise UserNotFound(user_id)
    async with get_database().connection() as conn:
        deleted = await queries.delete_user(conn, user_id)
    if not deleted:
        raise UserNotFound(user_id)


# --- /api/v1 -----------------------------------------------------------------------------------

_unavailable = document_response(Problem, 503)


def _body_errors(handler: Any) -> Any:
    """Documents what every route that reads a JSON body may answer about that body."""
    for status in (400, 413, 415, 422):
        handler = document_response(Problem, status)(handler)
    return handler


def _no_content() -> Response:
    response = Response(status=204)
    # A 204 has no body, so no Content-Type either (Quart would say text/html).
    response.headers.pop("Content-Type", None)
    return response


@api.get("/users")
@document_querystring(UserListQuery)
@document_response(UserList, 200)
@document_response(Problem, 422)
@_unavailable
async def list_users() -> Response:
    """List users

    Filters: `username` (exact, case-insensitive), `q` (substring of username, full name or
    email). Ordered by id; `limit` 1-100 (default 20) and `offset` page through the result.
    """
    items, total, query = await _list_users()
    return json_response(
        {"items": items, "total": total, "limit": query.limit, "offset": query.offset}
    )


@api.get("/users/<int:user_id>")
@document_response(User, 200)
@document_response(Problem, 404)
@_unavailable
async def get_user(user_id: int) -> Response:
    """Get one user"""
    return json_response(await _get_user(user_id))


@api.post("/users")
@document_request(UserCreate)
@document_response(User, 201)
@document_response(Problem, 409)
@_body_errors
@_unavailable
async def create_user() -> Response:
    """Create a user

    The body is JSON (sent as application/json, text/plain or without a Content-Type).
    Answers 201 with the user and its URL in `Location`; 409 when the username is taken,
    whatever its case.
    """
    user = await _create_user()
    return json_response(user, 201, _user_location(user["id"]))


@api.put("/users/<int:user_id>")
@document_request(UserReplace)
@document_response(User, 200)
@document_response(Problem, 404)
@document_response(Problem, 409)
@_body_errors
@_unavailable
async def replace_user(user_id: int) -> Response:
    """Replace a user (all three fields)"""
    return json_response(await _change_user(user_id, UserReplace))


@api.patch("/users/<int:user_id>")
@document_request(UserUpdate)
@document_response(User, 200)
@document_response(Problem, 404)
@document_response(Problem, 409)
@_body_errors
@_unavailable
async def update_user(user_id: int) -> Response:
    """Change some fields of a user"""
    return json_response(await _change_user(user_id, UserUpdate))


@api.delete("/users/<int:user_id>")
@document_response(NoContent, 204)
@document_response(Problem, 404)
@_unavailable
async def delete_user(user_id: int) -> Response:
    """Delete a user"""
    await _delete_user(user_id)
    return _no_content()


# --- deprecated aliases ------------------------------------------------------------------------


@legacy.after_request
async def mark_deprecated(response: Response) -> Response:
    response.headers["Deprecation"] = LEGACY_DEPRECATION
    response.headers["Link"] = f'</api/v1{request.path}>; rel="successor-version"'
    return response


@legacy.get("/users")
@operation_id("legacy_list_users")
@document_querystring(UserListQuery)
@document_response(list[User], 200)
@document_response(Problem, 422)
@_unavailable
async def legacy_list_users() -> Response:
    """List users (deprecated: use GET /api/v1/users)

    Same filters as /api/v1/users; answers a plain JSON array of the page. The total is in
    the `X-Total-Count` header.
    """
    items, total, _query = await _list_users()
    return json_response(items, headers={"X-Total-Count": str(total)})


@legacy.get("/users/<int:user_id>")
@operation_id("legacy_get_user")
@document_response(User, 200)
@document_response(Problem, 404)
@_unavailable
async def legacy_get_user(user_id: int) -> Response:
    """Get one user (deprecated: use GET /api/v1/users/{user_id})"""
    return json_response(await _get_user(user_id))


@legacy.post("/users")
@operation_id("legacy_create_user")
@document_request(UserCreate)
@document_response(User, 201)
@document_response(Problem, 409)
@_body_errors
@_unavailable
async def legacy_create_user() -> Response:
    """Create a user (deprecated: use POST /api/v1/users)"""
    user = await _create_user()
    return json_response(user, 201, _user_location(user["id"]))


@legacy.put("/users/<int:user_id>")
@operation_id("legacy_replace_user")
@document_request(UserReplace)
@document_response(User, 200)
@document_response(Problem, 404)
@document_response(Problem, 409)
@_body_errors
@_unavailable
async def legacy_replace_user(user_id: int) -> Response:
    """Replace a user (deprecated: use PUT /api/v1/users/{user_id})"""
    return json_response(await _change_user(user_id, UserReplace))


@legacy.patch("/users/<int:user_id>")
@operation_id("legacy_update_user")
@document_request(UserUpdate)
@document_response(User, 200)
@document_response(Problem, 404)
@document_response(Problem, 409)
@_body_errors
@_unavailable
async def legacy_update_user(user_id: int) -> Response:
    """Change some fields of a user (deprecated: use PATCH /api/v1/users/{user_id})"""
    return json_response(await _change_user(user_id, UserUpdate))


@legacy.delete("/users/<int:user_id>")
@operation_id("legacy_delete_user")
@document_response(NoContent, 204)
@document_response(Problem, 404)
@_unavailable
async def legacy_delete_user(user_id: int) -> Response:
    """Delete a user (deprecated: use DELETE /api/v1/users/{user_id})"""
    await _delete_user(user_id)
    return _no_content()
