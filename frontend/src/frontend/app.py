"""Application factory: `create_app()` builds the Quart app serving the users pages."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from quart import Quart, render_template
from servicekit.app import ServiceQuart
from servicekit.request_id import current_request_id
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from frontend.blueprints import home, ops, users
from frontend.lib import metrics
from frontend.lib.backend_client import BackendClient, BackendUnavailable, UserNotFound
from frontend.lib.csrf import csrf_token, verify_csrf_token
from frontend.lib.security import add_security_headers
from frontend.settings import Settings
from servicekit import tracing

# Status pages with their own template; any other HTTP error uses errors/generic.html.
ERROR_TEMPLATES = {400: "errors/400.html", 404: "errors/404.html", 500: "errors/500.html"}


def create_app(
    settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> Quart:
    """Build the app; `transport` replaces the network in tests (httpx.MockTransport)."""
    settings = settings or Settings()
    app = ServiceQuart(__name__)
    app.track_requests(
        "frontend", access_log=settings.access_log, metrics=metrics if settings.metrics else None
    )
    app.config.update(
        SECRET_KEY=settings.secret_key.get_secret_value() if settings.secret_key else None,
        SESSION_COOKIE_NAME="users_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024,
        TEMPLATES_AUTO_RELOAD=settings.reload,
        # Errors are always answered with the 500 page, never a traceback, even in tests.
        PROPAGATE_EXCEPTIONS=False,
    )
    app.extensions["settings"] = settings
    client = BackendClient(
        settings.backend_url,
        total_timeout=settings.backend_timeout,
        transport=transport,
        cache_size=settings.backend_cache_size,
    )
    app.extensions["backend"] = client

    @app.before_serving
    async def open_backend_client() -> None:
        await client.open()

    @app.after_serving
    async def close_backend_client() -> None:
        await client.aclose()

    # Every hook is a coroutine, though none of them waits: Quart would run a plain function in
    # a worker thread, which costs more than the work itself, on every request.
    app.before_request(verify_csrf_token)
    app.after_request(add_security_headers)

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["request_id"] = current_request_id
    app.jinja_env.globals["trace_id"] = tracing.current_trace_id
    app.jinja_env.filters["datetime"] = format_datetime

    app.register_blueprint(home.bp)
    app.register_blueprint(users.bp)
    app.register_blueprint(ops.bp)

    app.register_error_handler(HTTPException, render_http_error)
    app.register_error_handler(UserNotFound, render_user_not_found)
    app.register_error_handler(BackendUnavailable, render_backend_unavailable)
    return app


async def render_http_error(error: HTTPException) -> tuple[str, int, dict[str, str]]:
    code = error.code or 500
    template = ERROR_TEMPLATES.get(code, "errors/generic.html")
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return await render_template(template, error=error, status=code), code, headers


async def render_user_not_found(_error: UserNotFound) -> tuple[str, int]:
    return await render_template("errors/404.html", status=404), 404


async def render_backend_unavailable(error: BackendUnavailable) -> tuple[str, int, dict[str, str]]:
    tracing.mark_current_span_failed(f"backend unavailable: {error.reason}", error)
    return await render_template("errors/503.html", status=503), 503, error.retry_after_header


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%d %b %Y, %H:%M UTC")
