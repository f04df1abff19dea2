"""The API's documentation (/openapi.json, /docs): quart-schema's, with errors typed as
problem+json, 204 left empty and the models listed once under components."""

from __future__ import annotations

from typing import Any

from quart import Quart
from quart_schema import Info, QuartSchema, Tag
from quart_schema.openapi import OpenAPIProvider

from backend import __version__
from backend.lib.problems import PROBLEM_CONTENT_TYPE
from backend.models.users import NoContent, Problem

PROBLEM_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    404: "No such user.",
    409: "The username is already taken (usernames are case-insensitive).",
    413: "The body is larger than 64 KiB.",
    415: "The body was sent with a Content-Type other than JSON or text/plain.",
    422: "Invalid fields or parameters; `errors` lists a message for each.",
    503: "The database is unreachable or slow; retry after `Retry-After` seconds.",
}


class ApiDocumentation(OpenAPIProvider):
    """quart-schema's OpenAPI output, with errors typed as problem+json, 204 left empty and
    the request and response models listed once under components (named, reusable)."""

    def build_paths(self, rule: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, definitions = super().build_paths(rule)
        for operations in paths.values():
            for operation in operations.values():
                for status, response in operation["responses"].items():
                    if PROBLEM_CONTENT_TYPE in response.get("content", {}):
                        response["description"] = PROBLEM_DESCRIPTIONS.get(
                            int(status), response["description"]
                        )
        return paths, definitions

    def build_request_body(self, model: Any, source: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        body, definitions = super().build_request_body(model, source)
        for media in body["content"].values():
            media["schema"] = _as_component(media["schema"], definitions)
        return body, definitions

    def build_response_object(
        self, model: Any, headers_model: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if model is NoContent:
            return {"description": "No content"}, {}
        response, definitions = super().build_response_object(model, headers_model)
        media = response["content"]["application/json"]
        media["schema"] = _as_component(media["schema"], definitions)
        if model is Problem:
            response["content"] = {PROBLEM_CONTENT_TYPE: media}
        return response, definitions


def _as_component(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    title = schema.get("title")
    if schema.get("type") != "object" or not title:
        return schema
    definitions[title] = schema
    return {"$ref": f"#/components/schemas/{title}"}


def register_api_documentation(app: Quart) -> None:
    """/openapi.json and the Swagger UI at /docs."""
    QuartSchema(
        app,
        info=Info(
            title="Users API",
            version=__version__,
            description=(
                "Create, read, update and delete users. Errors are RFC 9457 problem details "
                "(application/problem+json). While the database is unreachable every users "
                "route answers 503 with Retry-After."
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
