"""`backend serve`, `backend migrate` and `backend healthcheck`.

Kept light at import time: `serve` must set PROMETHEUS_MULTIPROC_DIR before anything imports
prometheus_client, and `healthcheck` runs in the container image's health probe.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from servicekit.commands import CommandError, load_settings, run_command
from servicekit.health import healthcheck

from backend.settings import Settings

APPLICATION_PATH = "backend.app:create_app()"
# Imported once by the master before it forks the workers (servicekit.serving.serve): the app,
# and the MySQL backend that `databases` imports when the app makes its pool (a test in
# backend/tests/test_serve.py checks that a worker needs nothing more).
PRELOAD = ("backend.app", "databases.backends.mysql")


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

    def command() -> int | None:
        settings = load_settings(Settings)
        if args.command == "healthcheck":
            return healthcheck(settings.host, settings.port)
        if args.command == "migrate":
            return migrate_database(settings, wait=args.wait)
        return serve(settings)

    run_command("backend", args.command, command)


def serve(settings: Settings) -> int:
    from servicekit.serving import hypercorn_config
    from servicekit.serving import serve as serve_with_hypercorn

    config = hypercorn_config(settings, APPLICATION_PATH)
    return serve_with_hypercorn(settings, config, service="backend", preload=PRELOAD)


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


if __name__ == "__main__":
    main()
