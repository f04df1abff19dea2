"""`backend serve`, `backend migrate` and `backend healthcheck`.

Kept light at import time: `serve` must set PROMETHEUS_MULTIPROC_DIR before anything imports
prometheus_client, and `healthcheck` runs in the container image's health probe.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from backend.settings import Settings, load_settings

if TYPE_CHECKING:
    from hypercorn.config import Config

APPLICATION_PATH = "backend.app:create_app()"
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104 - names, not a bind


class CommandError(Exception):
    """A failure worth one line on stderr and a non-zero exit, never a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="backend", description="Users REST API.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API with Hypercorn (configured by BACKEND_*)")
    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep retrying to connect for this long before giving up (default: 0)",
    )
    commands.add_parser("healthcheck", help="exit 0 when /livez answers 200 within 2 s")
    args = parser.parse_args(argv)

    try:
        if args.command == "healthcheck":
            sys.exit(healthcheck(_settings()))
        elif args.command == "migrate":
            migrate_database(_settings(), wait=args.wait)
        else:
            sys.exit(serve(_settings()))
    except CommandError as error:
        print(f"backend {args.command}: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


def _settings() -> Settings:
    try:
        return load_settings()
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            message = item["msg"].removeprefix("Value error, ")
            name = ".".join(str(part) for part in item["loc"]).upper()
            problems.append(f"{name}: {message}" if name else message)
        raise CommandError(f"invalid configuration: {'; '.join(problems)}", exit_code=2) from None


# --- serve -------------------------------------------------------------------------------------


def serve(settings: Settings) -> int:
    from hypercorn.run import run

    from backend.lib.logging import configure_logging

    metrics_dir, owned = _prepare_metrics_dir(settings)
    configure_logging(settings.backend_log_level)
    try:
        return run(hypercorn_config(settings))
    finally:
        # Hypercorn returns once the first worker has stopped; the others may still be
        # finishing requests (and writing metrics) for up to the graceful timeout.
        for worker in multiprocessing.active_children():
            worker.join()
        if owned and metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def hypercorn_config(settings: Settings, application_path: str = APPLICATION_PATH) -> Config:
    """How `backend serve` runs Hypercorn (the benchmark serves its baseline app the same way)."""
    from hypercorn.config import Config

    config = Config()
    config.application_path = application_path
    host = settings.backend_host
    bind_host = f"[{host}]" if ":" in host else host
    config.bind = [f"{bind_host}:{settings.backend_port}"]
    config.worker_class = "uvloop"
    config.use_reloader = settings.backend_reload
    # One worker without reload runs in this process: no child to leave behind, and SIGTERM /
    # SIGINT go straight to Hypercorn's graceful shutdown.
    if settings.backend_workers == 1 and not settings.backend_reload:
        config.workers = 0
    else:
        config.workers = settings.backend_workers
    config.graceful_timeout = settings.backend_graceful_timeout
    config.loglevel = settings.backend_log_level.upper()
    config.errorlog = logging.getLogger("hypercorn.error")
    config.accesslog = None  # the app writes the access log, with the route and request id
    config.include_server_header = False
    return config


def _prepare_metrics_dir(settings: Settings) -> tuple[Path | None, bool]:
    """Point prometheus_client at an empty directory shared by this server's workers."""
    if not settings.backend_metrics:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return None, False
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        # Values left by an earlier run would be added to this run's.
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        return path, False
    path = Path(tempfile.mkdtemp(prefix="backend-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path, True


# --- migrate -----------------------------------------------------------------------------------


def migrate_database(settings: Settings, *, wait: float = 0.0) -> None:
    applied = asyncio.run(_migrate(settings, wait))
    if applied:
        for version in applied:
            print(f"applied {version}")
    else:
        print("database schema is up to date")


async def _migrate(settings: Settings, wait: float) -> list[str]:
    from pymysql.err import MySQLError

    from backend.lib.connect import describe_error, open_connection
    from backend.migrations import MigrationError, apply_migrations

    location = settings.database
    deadline = time.monotonic() + wait
    while True:
        try:
            connection = await open_connection(settings)
            break
        except (MySQLError, OSError, TimeoutError) as error:
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"cannot connect to the database {location}: {describe_error(error)}"
                ) from None
            await asyncio.sleep(0.5)
    try:
        return await apply_migrations(connection, location.name)
    except (MySQLError, OSError, MigrationError) as error:
        raise CommandError(f"migration failed: {describe_error(error)}") from None
    finally:
        connection.close()


# --- healthcheck -------------------------------------------------------------------------------


def healthcheck(settings: Settings) -> int:
    host = settings.backend_host
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{settings.backend_port}/livez"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    main()
