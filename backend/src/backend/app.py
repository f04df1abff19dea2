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

from quart import Quart

from backend.blueprints.ops import ops
from backend.blueprints.users_legacy import legacy
from backend.blueprints.users_v1 import api
from backend.lib import metrics
from backend.lib.db import Database
from backend.lib.http import MAX_BODY_BYTES, register_cors
from backend.lib.lifecycle import TrackedQuart
from backend.lib.logging import configure_logging
from backend.lib.problems import register_error_handlers
from backend.openapi import register_api_documentation
from backend.settings import Settings, load_settings

PUBLISH_INTERVAL_SECONDS = 1.0
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


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
