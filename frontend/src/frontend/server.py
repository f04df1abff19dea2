"""Serving: Hypercorn configuration and the ASGI app every worker runs.

Hypercorn binds both FRONTEND_PORT and FRONTEND_METRICS_PORT, and each worker runs one ASGI
app that routes by the port a connection arrived on (scope["server"]). This keeps a single
process tree (no extra metrics thread or process to start and stop) while /metrics can never
be reached on the public port: the pages app does not have such a route at all.
"""

from __future__ import annotations

import asyncio
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
        self._sigterm_forwarded = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self._forward_worker_sigterm_to_supervisor()
            await self.pages_app(scope, receive, send)
            return
        server = scope.get("server")
        if server is not None and server[1] == self.metrics_port:
            await self.metrics_app(scope, receive, send)
        else:
            await self.pages_app(scope, receive, send)

    def _forward_worker_sigterm_to_supervisor(self) -> None:
        # With several workers Hypercorn stops them gracefully through a shared event set by
        # the supervising process, and the workers do not handle SIGTERM themselves. Process
        # managers often signal the whole process group, which would kill a worker mid-request;
        # instead a worker passes the signal on to the supervisor, which drains every worker.
        if self._sigterm_forwarded or multiprocessing.parent_process() is None:
            return
        self._sigterm_forwarded = True
        supervisor = os.getppid()

        def forward() -> None:
            if os.getppid() == supervisor:
                os.kill(supervisor, signal.SIGTERM)
            else:  # orphaned: nobody will set the shutdown event, so stop now
                os._exit(0)

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, forward)


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
