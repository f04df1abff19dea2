"""One error shape for every failure: RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import logging
from http import HTTPStatus

from quart import Quart, Response
from werkzeug.exceptions import HTTPException

from backend.lib import metrics
from backend.lib.encoding import json_bytes

PROBLEM_CONTENT_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 2

logger = logging.getLogger("backend.errors")


class ApiProblem(Exception):
    """Raised anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        type_: str = "about:blank",
    ) -> None:
        super().__init__(detail or title or HTTPStatus(status).phrase)
        self.status = status
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.type = type_


class UserNotFound(ApiProblem):
    def __init__(self, user_id: int) -> None:
        super().__init__(404, f"user {user_id} does not exist")


class UsernameTaken(ApiProblem):
    def __init__(self) -> None:
        super().__init__(
            409,
            "username is already taken",
            errors=[{"field": "username", "message": "username is already taken"}],
        )


class UserChanged(ApiProblem):
    def __init__(self, user_id: int) -> None:
        super().__init__(
            412,
            f"user {user_id} was changed after you loaded it: GET it again for its current "
            "values and version (ETag), then send your change again",
        )


class ValidationFailed(ApiProblem):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        summary = "; ".join(error["message"] for error in errors)
        super().__init__(422, summary or "the request is not valid", errors=errors)


class DatabaseUnavailable(ApiProblem):
    def __init__(self, reason: str = "the database is not reachable right now") -> None:
        super().__init__(
            503,
            reason,
            title="Service Unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def problem_response(problem: ApiProblem) -> Response:
    body: dict[str, object] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail or problem.title,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    response = Response(json_bytes(body), status=problem.status, content_type=PROBLEM_CONTENT_TYPE)
    response.headers.update(problem.headers)
    return response


# Clearer words than the standard reason phrases for what a client usually did wrong.
_HTTP_DETAILS = {
    400: "the request could not be understood",
    404: "no such resource",
    405: "this method is not allowed on this resource",
    413: "the request body is larger than 64 KiB",
    415: "send the body as application/json",
}


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ApiProblem)
    async def handle_problem(error: ApiProblem) -> Response:
        if isinstance(error, DatabaseUnavailable):
            metrics.DB_UNAVAILABLE.inc()
        return problem_response(error)

    @app.errorhandler(HTTPException)
    async def handle_http_exception(error: HTTPException) -> Response:
        status = error.code or 500
        problem = ApiProblem(status, _HTTP_DETAILS.get(status, error.description))
        for key, value in error.get_headers():
            if key in {"Allow", "Retry-After"}:
                problem.headers[key] = value
        return problem_response(problem)

    @app.errorhandler(Exception)
    async def handle_unexpected(error: Exception) -> Response:
        logger.exception("unhandled error", exc_info=error)
        return problem_response(ApiProblem(500, "something went wrong on our side"))
