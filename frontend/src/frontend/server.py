"""Serving: Hypercorn configuration and the ASGI app every worker runs.

Hypercorn binds both FRONTEND_PORT and FRONTEND_METRICS_PORT, and each worker runs one ASGI
app that routes by the port a connection arrived on (scope["server"]). This keeps a single
process tree (no extra metrics thread or process to start and stop) while /metrics can never
be reached on the public port: the pages app does not have such a route at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hypercorn.config import Config
from hypercorn.run import run

from frontend.settings import Settings

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>

# prometheus_client decides at import time whether to use the multiprocess directory, so this
# module must not import it (nor the app) before `serve` has prepared that directory.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
GRACEFUL_TIMEOUT = 10.0

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class PortRouter:
    """Sends requests for the metrics port to the metrics app, everything else to the pages."""

    def __init__(self, pages_app: ASGIApp, metrics_app: ASGIApp, metrics_port: int) -> None:
        self.pages_app = pages_app
        self.metrics_app = metrics_app
        self.metrics_port = metrics_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            _tie_worker_to_master()
            await self.pages_app(scope, receive, send)
            return
        server = scope.get("server")
        if server is not None and server[1] == self.metrics_port:
            await self.metrics_app(scope, receive, send)
        else:
            await self.pages_app(scope, receive, send)


def _tie_worker_to_master() -> None:
    """In a Hypercorn worker process, leave shutting down to the master process.

    The master stops its workers gracefully through a shared event; a SIGTERM sent to the whole
    process group (as process managers do) must not cut their in-flight requests short, and
    must not reach the master again through its workers: Hypercorn's handler is not re-entrant
    and can deadlock. Should the master die without stopping them, the kernel kills the worker
    (Linux), so none is left behind. The backend does the same (backend/app.py).
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


def build_asgi_app(settings: Settings | None = None) -> PortRouter:
    from frontend.app import create_app
    from frontend.lib.logging import configure_logging
    from frontend.lib.metrics import MetricsApp

    settings = settings or Settings()
    configure_logging(settings.log_level)
    return PortRouter(create_app(settings), MetricsApp(), settings.metrics_port)


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def hypercorn_config(settings: Settings) -> Config:
    config = Config()
    config.bind = [_bind(settings.host, settings.port), _bind(settings.host, settings.metrics_port)]
    config.application_path = "frontend.asgi:app"
    config.worker_class = "uvloop"
    # One worker without the reloader runs in this very process (Hypercorn's workers=0), so
    # SIGTERM is handled directly and no child process exists; otherwise a supervisor
    # process manages the workers.
    config.workers = 0 if settings.workers == 1 and not settings.reload else settings.workers
    config.use_reloader = settings.reload
    config.graceful_timeout = GRACEFUL_TIMEOUT
    config.loglevel = settings.log_level.upper()
    config.accesslog = None  # the app writes its own JSON access line, with the request id
    config.errorlog = logging.getLogger("hypercorn.error")
    return config


def prepare_metrics_dir() -> tuple[Path, bool]:
    """A multiprocess directory without samples from an earlier run.

    Returns it and whether it was created here (and is to be removed on exit).
    """
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return path, False
    path = Path(tempfile.mkdtemp(prefix="frontend-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path, True


def serve(settings: Settings) -> int:
    from frontend.lib.logging import configure_logging

    configure_logging(settings.log_level)
    # Workers read their settings from the environment: they must share one session key,
    # or a form served by one worker would be refused by another.
    if settings.secret_key is not None:
        os.environ["FRONTEND_SECRET_KEY"] = settings.secret_key.get_secret_value()
    metrics_dir, created = prepare_metrics_dir()
    try:
        return run(hypercorn_config(settings))
    finally:
        # Hypercorn returns once the first worker has stopped; the others may still be
        # finishing requests (and writing metrics) for up to the graceful timeout.
        for worker in multiprocessing.active_children():
            worker.join()
        if created:
            shutil.rmtree(metrics_dir, ignore_errors=True)
