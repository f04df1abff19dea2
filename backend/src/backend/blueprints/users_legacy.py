"""The deprecated aliases at /users, kept for older clients: the same operations as /api/v1,
marked deprecated, and the list as a plain JSON array."""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart_schema import (
    deprecate_blueprint,
    document_querystring,
    document_request,
    document_response,
    operation_id,
    tag_blueprint,
)

from backend.blueprints.users_v1 import (
    created,
    documents_body_errors,
    documents_unavailable,
    no_content,
)
from backend.lib.encoding import json_response
from backend.lib.http import read_json_body
from backend.models.users import (
    NoContent,
    Problem,
    User,
    UserCreate,
    UserListQuery,
    UserReplace,
    UserUpdate,
)
from backend.services import users

legacy = Blueprint("legacy_users", __name__)
tag_blueprint(legacy, ["legacy"])
deprecate_blueprint(legacy)

# RFC 9745: the legacy routes are deprecated since the /api/v1 routes shipped (2026-01-01).
LEGACY_DEPRECATION = "@1767225600"


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
@documents_unavailable
async def legacy_list_users() -> Response:
    """List users (deprecated: use GET /api/v1/users)

    Same filters as /api/v1/users; answers a plain JSON array of the page. The total is in
    the `X-Total-Count` header.
    """
    items, total, _query = await users.list_users(request.args.to_dict())
    return json_response(items, headers={"X-Total-Count": str(total)})


@legacy.get("/users/<int:user_id>")
@operation_id("legacy_get_user")
@document_response(User, 200)
@document_response(Problem, 404)
@documents_unavailable
async def legacy_get_user(user_id: int) -> Response:
    """Get one user (deprecated: use GET /api/v1/users/{user_id})"""
    return json_response(await users.get_user(user_id))


@legacy.post("/users")
@operation_id("legacy_create_user")
@document_request(UserCreate)
@document_response(User, 201)
@document_response(Problem, 409)
@documents_body_errors
@documents_unavailable
async def legacy_create_user() -> Response:
    """Create a user (deprecated: use POST /api/v1/users)"""
    return created(await users.create_user(await read_json_body()))


@legacy.put("/users/<int:user_id>")
@operation_id("legacy_replace_user")
@document_request(UserReplace)
@document_response(User, 200)
@document_response(Problem, 404)
@document_response(Problem, 409)
@documents_body_errors
@documents_unavailable
async def legacy_replace_user(user_id: int) -> Response:
    """Replace a user (deprecated: use PUT /api/v1/users/{user_id})"""
    return json_response(await users.replace_user(user_id, await read_json_body()))


@legacy.patch("/users/<int:user_id>")
@operation_id("legacy_update_user")
@document_request(UserUpdate)
@document_response(User, 200)
@document_response(Problem, 404)
@document_response(Problem, 409)
@documents_body_errors
@documents_unavailable
async def legacy_update_user(user_id: int) -> Response:
    """Change some fields of a user (deprecated: use PATCH /api/v1/users/{user_id})"""
    return json_response(await users.update_user(user_id, await read_json_body()))


@legacy.delete("/users/<int:user_id>")
@operation_id("legacy_delete_user")
@document_response(NoContent, 204)
@document_response(Problem, 404)
@documents_unavailable
async def legacy_delete_user(user_id: int) -> Response:
    """Delete a user (deprecated: use DELETE /api/v1/users/{user_id})"""
    await users.delete_user(user_id)
    return no_content()
