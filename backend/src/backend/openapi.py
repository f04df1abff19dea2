"""The API's documentation (/openapi.json, /docs): quart-schema's, with errors typed as
problem+json, 204 left empty and the models listed once under components."""

from __future__ import annotations

import inspect
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from quart import Quart, Response, abort, send_from_directory
from quart_schema import Info, QuartSchema, Tag, hide
from quart_schema.openapi import OpenAPIProvider

from backend import __version__
from backend.lib.conditional import CACHE_CONTROL
from backend.lib.problems import PROBLEM_CONTENT_TYPE
from backend.models.users import NoContent, NotModified, Problem

PROBLEM_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    404: "No such user.",
    409: "The username is already taken (usernames are case-insensitive).",
    412: "The user was changed after you loaded it: `If-Match` names an older version.",
    413: "The body is larger than 64 KiB.",
    415: "The body was sent with a Content-Type other than JSON or text/plain.",
    422: "Invalid fields or parameters; `errors` lists a message for each.",
    503: "The database is unreachable or slow; retry after `Retry-After` seconds.",
}


VERSION_HEADERS = {
    "ETag": {
        "description": "The user's version (for a page: the page's), a strong entity tag.",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[^"]+"$'},
    },
    "Cache-Control": {
        "description": "Store, but revalidate before every use (If-None-Match).",
        "required": True,
        "schema": {"type": "string", "enum": [CACHE_CONTROL]},
    },
}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An ETag from an earlier answer: 304 without a body while it is current.",
    "schema": {"type": "string"},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": (
        "The ETag of the version this change is based on: 412 when the user has changed "
        "since (a tag of another user, or one that is not this API's, never matches; `*` "
        "matches any). Without it the request applies whatever the current version."
    ),
    "schema": {"type": "string"},
}


class ApiDocumentation(OpenAPIProvider):
    """quart-schema's OpenAPI output, with errors typed as problem+json, 204 left empty, the
    request and response models listed once under components (named, reusable), request
    bodies required, and the conditional-request headers of the routes that answer 304/412."""

    def build_paths(self, rule: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, definitions = super().build_paths(rule)
        for operations in paths.values():
            for operation in operations.values():
                _describe_conditional(operation)
                for status, response in operation["responses"].items():
                    if PROBLEM_CONTENT_TYPE in response.get("content", {}):
                        response["description"] = PROBLEM_DESCRIPTIONS.get(
                            int(status), response["description"]
                        )
        return paths, definitions

    def schema(self) -> dict[str, Any]:
        document = super().schema()
        _link_created_users(document["paths"])
        return document

    def build_request_body(self, model: Any, source: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        body, definitions = super().build_request_body(model, source)
        for media in body["content"].values():
            media["schema"] = _as_component(media["schema"], definitions)
        # The routes answer 400 to an empty body (backend.lib.http.read_json_body).
        body["required"] = True
        return body, definitions

    def build_response_object(
        self, model: Any, headers_model: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if model is NoContent:
            return {"description": "No content"}, {}
        if model is NotModified:
            return {"description": inspect.getdoc(model)}, {}
        response, definitions = super().build_response_object(model, headers_model)
        media = response["content"]["application/json"]
        media["schema"] = _as_component(media["schema"], definitions)
        if model is Problem:
            response["content"] = {PROBLEM_CONTENT_TYPE: media}
        return response, definitions


def _describe_conditional(operation: dict[str, Any]) -> None:
    # Each operation object is a copy per method, but its parameter list is shared.
    responses = {int(status): response for status, response in operation["responses"].items()}
    conditional = [IF_NONE_MATCH] if 304 in responses else []
    conditional += [IF_MATCH] if 412 in responses else []
    if not conditional:
        return
    operation["parameters"] = [*operation["parameters"], *conditional]
    for status in (200, 304):
        if status in responses:
            responses[status]["headers"] = VERSION_HEADERS


def _link_created_users(paths: dict[str, Any]) -> None:
    """Link each POST's 201 to the operations on the user it made, under the same prefix
    only: /users and /api/v1/users share rows, a link across them would confuse a client."""
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get(201)
        one_user = paths.get(f"{path}/{{user_id}}")
        if created is None or one_user is None:
            continue
        created["links"] = {
            operation["operationId"]: {
                "operationId": operation["operationId"],
                "parameters": {"user_id": "$response.body#/id"},
            }
            for operation in one_user.values()
        }


def _as_component(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    title = schema.get("title")
    if schema.get("type") != "object" or not title:
        return schema
    definitions[title] = schema
    return {"$ref": f"#/components/schemas/{title}"}


# Swagger UI's scripts and styles come from the swagger-ui-py package (its swagger-ui 5 can
# render OpenAPI 3.1), served here, so /docs works without reaching any other host
# (quart-schema's default is a CDN). Only its files are used, not its framework glue, so the
# package is found but not imported (its import pulls in PyYAML, in every worker).
DOCS_ASSETS = "/docs/assets"
SWAGGER_UI_FILES = Path(find_spec("swagger_ui").origin).parent / "static"
_ASSET_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css"})


def register_api_documentation(app: Quart) -> None:
    """/openapi.json and the Swagger UI at /docs, with its assets under /docs/assets."""
    app.config.update(
        QUART_SCHEMA_SWAGGER_JS_URL=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        QUART_SCHEMA_SWAGGER_CSS_URL=f"{DOCS_ASSETS}/swagger-ui.css",
    )

    @app.get(f"{DOCS_ASSETS}/<name>")
    @hide
    async def docs_asset(name: str) -> Response:
        if name not in _ASSET_FILES:
            abort(404)
        response = await send_from_directory(SWAGGER_UI_FILES, name)
        # The files change only with the package's version, which is pinned.
        response.cache_control.public = True
        response.cache_control.max_age = 86400
        return response

    QuartSchema(
        app,
        info=Info(
            title="Users API",
            version=__version__,
            description=(
                "Create, read, update and delete users. Errors are RFC 9457 problem details "
                "(application/problem+json). While the database is unreachable every users "
                "route answers 503 with Retry-After. Requests and answers are UTF-8 JSON "
                "(strings must be encodable as UTF-8: no lone surrogates). Users carry a "
                "version (`ETag`): `If-None-Match` revalidates a stored answer (304) and "
                "`If-Match` makes a change conditional (412 when someone changed the user "
                "first)."
            ),
        ),
        tags=[
            Tag(name="users", description="The users API."),
            Tag(name="legacy", description="Deprecated aliases of the users API at /users."),
        ],
        redoc_ui_path=None,
        scalar_ui_path=None,
        openapi_provider_class=ApiDocumentation,
    )
