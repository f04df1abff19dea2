"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import signal
from typing import Any

from quart import Quart
from quart_schema import Info, QuartSchema, Tag
from quart_schema.openapi import OpenAPIProvider

from backend import __version__
from backend.blueprints.ops import ops
from backend.blueprints.users_legacy import legacy
from backend.blueprints.users_v1 import api
from backend.lib import metrics
from backend.lib.db import Database
from backend.lib.http import MAX_BODY_BYTES, register_cors
from backend.lib.lifecycle import TrackedQuart
from backend.lib.logging import configure_logging
from backend.lib.problems import PROBLEM_CONTENT_TYPE, register_error_handlers
from backend.models.users import NoContent, Problem
from backend.settings import Settings, load_settings

PUBLISH_INTERVAL_SECONDS = 1.0
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


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


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> Quart:
    settings = settings or load_settings()
    if configure_logs:
        configure_logging(settings.backend_log_level)

    app = TrackedQuart(__name__, static_folder=None)
    app.access_log = settings.backend_access_log
    app.collect_metrics = settings.backend_metrics
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        # Answers are small JSON documents that the server buffers in one write, so sending one
        # never waits on the client; without a limit Quart spares a task and a timer per request.
        RESPONSE_TIMEOUT=None,
        BACKEND_METRICS=settings.backend_metrics,
        SETTINGS=settings,
    )
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

    database = Database(settings)
    app.extensions["database"] = database

    app.register_blueprint(api)
    app.register_blueprint(legacy)
    app.register_blueprint(ops)

    register_error_handlers(app)
    register_cors(app, settings.cors_origins)

    background: set[asyncio.Task[None]] = set()

    @app.before_serving
    async def open_pool() -> None:
        _tie_worker_to_master()
        await database.connect()
        if settings.backend_metrics:
            background.add(asyncio.create_task(_publish_figures(database)))
        # What exists now (modules, the app, its routes and schemas) lives as long as the
        # process: keep it out of the collections that per-request garbage sets off.
        gc.freeze()

    @app.after_serving
    async def close_pool() -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        background.clear()
        await database.disconnect()
        if settings.backend_metrics:
            metrics.forget_this_process()

    return app


async def _publish_figures(database: Database) -> None:
    """Keep this worker's in-flight and pool gauges fresh; any worker may answer /metrics."""
    while True:
        metrics.publish_figures(database)
        await asyncio.sleep(PUBLISH_INTERVAL_SECONDS)


def _tie_worker_to_master() -> None:
    """In a Hypercorn worker process, leave shutting down to the master process.

    The master stops its workers gracefully through a shared event; a SIGTERM sent to the whole
    process group must not cut their in-flight requests short. Should the master die without
    doing so, the kernel kills the worker (Linux), so none is left behind.
    """
    master = multiprocessing.parent_process()
    if master is None:
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != master.pid:  # the master died before the line above
        os._exit(1)
