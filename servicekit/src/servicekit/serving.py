"""`serve`: one Hypercorn configuration and one server lifecycle for every service."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hypercorn.config import Config

from servicekit.logs import configure_logging
from servicekit.metrics_dir import multiprocess_metrics_dir
from servicekit.settings import ServingSettings
from servicekit.workers import serve_workers


def bind_address(host: str, port: int) -> str:
    """Hypercorn's bind string: IPv6 addresses go in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def hypercorn_config(
    settings: ServingSettings, application_path: str, *, extra_ports: Sequence[int] = ()
) -> Config:
    """How a service runs Hypercorn; `application_path` is `module:factory()`, called in each
    worker. `extra_ports` are bound on the same host too (the frontend's metrics port)."""
    config = Config()
    config.application_path = application_path
    config.bind = [bind_address(settings.host, port) for port in (settings.port, *extra_ports)]
    config.worker_class = "uvloop"
    config.use_reloader = settings.reload
    # One worker without reload runs in this very process (workers=0): no child to leave
    # behind, and SIGTERM / SIGINT go straight to Hypercorn's graceful shutdown.
    config.workers = 0 if settings.workers == 1 and not settings.reload else settings.workers
    config.graceful_timeout = settings.graceful_timeout
    config.loglevel = settings.log_level.upper()
    config.errorlog = logging.getLogger("hypercorn.error")
    config.accesslog = None  # the app writes the access log, with the route and request id
    config.include_server_header = False
    return config


def serve(
    settings: ServingSettings, config: Config, *, service: str, preload: Sequence[str] = ()
) -> int:
    """Run Hypercorn until it stops and every worker has exited, with the metrics directory
    ready until then. Worker processes (several, or one with the reloader) are run by
    servicekit.workers, forked from this process once it has imported the `preload` modules,
    or spawned afresh to reload; a single worker without reload runs here."""
    from hypercorn.run import run

    with multiprocess_metrics_dir(settings.metrics, prefix=f"{service}-metrics-"):
        configure_logging(settings.log_level)
        if config.workers > 0:
            return serve_workers(config, preload)
        return run(config)
