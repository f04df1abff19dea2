"""Serving: the Hypercorn configuration and the ASGI app every worker runs.

Hypercorn binds both FRONTEND_PORT and FRONTEND_METRICS_PORT, and each worker runs one ASGI
app that routes by the port a connection arrived on (scope["server"]). This keeps a single
process tree (no extra metrics thread or process to start and stop) while /metrics can never
be reached on the public port: the pages app does not have such a route at all.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from hypercorn.config import Config

from frontend.settings import Settings
from servicekit import serving

# prometheus_client decides at import time whether to use the multiprocess directory, so this
# module must not import it (nor the app) before `serve` has prepared that directory.
APPLICATION_PATH = "frontend.server:build_asgi_app()"
# What build_asgi_app imports, and what the app's backend client imports when it is made at
# start-up (httpx's transport: httpcore over anyio): imported once by the master before it
# forks, for the workers to share (frontend/tests/test_frontend_serve.py checks the list).
PRELOAD = (
    "frontend.app",
    "frontend.lib.metrics",
    "servicekit.process_metrics",
    "prometheus_client.multiprocess",
    "httpcore",
    "sniffio",
    "anyio.abc",
    "anyio.lowlevel",
    "anyio.streams.memory",
    "anyio.streams.stapled",
    "anyio.streams.tls",
    "anyio.to_thread",
)

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
        server = scope.get("server")
        if scope["type"] != "lifespan" and server is not None and server[1] == self.metrics_port:
            await self.metrics_app(scope, receive, send)
        else:
            await self.pages_app(scope, receive, send)


def build_asgi_app(settings: Settings | None = None) -> ASGIApp:
    """What Hypercorn runs in each worker: the pages, and the metrics on their own port."""
    from servicekit.logs import configure_logging

    from frontend.app import create_app
    from frontend.lib.metrics import MetricsApp

    settings = settings or Settings()
    configure_logging(settings.log_level)
    pages = create_app(settings)
    if not settings.metrics:
        return pages
    return PortRouter(pages, MetricsApp(), settings.metrics_port)


def hypercorn_config(settings: Settings) -> Config:
    metrics_ports = [settings.metrics_port] if settings.metrics else []
    return serving.hypercorn_config(settings, APPLICATION_PATH, extra_ports=metrics_ports)


def serve(settings: Settings) -> int:
    # Workers read their settings from the environment: they must share one session key,
    # or a form served by one worker would be refused by another.
    if settings.secret_key is not None:
        os.environ["FRONTEND_SECRET_KEY"] = settings.secret_key.get_secret_value()
    return serving.serve(settings, hypercorn_config(settings), service="frontend", preload=PRELOAD)
