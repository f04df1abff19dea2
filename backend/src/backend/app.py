"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib

from quart import Quart
from servicekit.app import ServiceQuart
from servicekit.logs import configure_logging

from backend.blueprints.ops import ops
from backend.blueprints.users_legacy import legacy
from backend.blueprints.users_v1 import api
from backend.lib import metrics
from backend.lib.db import Database
from backend.lib.http import MAX_BODY_BYTES, register_cors
from backend.lib.problems import register_error_handlers
from backend.openapi import register_api_documentation
from backend.settings import Settings, load_settings

PUBLISH_INTERVAL_SECONDS = 1.0


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> Quart:
    settings = settings or load_settings()
    if configure_logs:
        configure_logging(settings.log_level)

    app = ServiceQuart(__name__, static_folder=None)
    app.track_requests(
        "backend", access_log=settings.access_log, metrics=metrics if settings.metrics else None
    )
    metrics.publish_build_info()
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        # Answers are small JSON documents that the server buffers in one write, so sending one
        # never waits on the client; without a limit Quart spares a task and a timer per request.
        RESPONSE_TIMEOUT=None,
        BACKEND_METRICS=settings.metrics,
        SETTINGS=settings,
    )
    register_api_documentation(app)

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
        await database.connect()
        if settings.metrics:
            background.add(asyncio.create_task(_publish_figures(database)))

    @app.after_serving
    async def close_pool() -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        background.clear()
        await database.disconnect()
        if settings.metrics:
            metrics.forget_this_process()

    return app


async def _publish_figures(database: Database) -> None:
    """Keep this worker's in-flight and pool gauges fresh; any worker may answer /metrics."""
    while True:
        metrics.publish_figures(database)
        await asyncio.sleep(PUBLISH_INTERVAL_SECONDS)
