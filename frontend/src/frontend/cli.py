"""Command line: `frontend serve` runs the web UI, `frontend healthcheck` probes it."""

from __future__ import annotations

import argparse

from servicekit.commands import load_settings, run_command
from servicekit.health import healthcheck

from frontend.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="frontend", description="Users web UI.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the pages (and /metrics on the metrics port)")
    commands.add_parser("healthcheck", help="exit 0 when /livez answers 200 within 2 s")
    args = parser.parse_args(argv)

    def command() -> int:
        settings = load_settings(Settings)
        if args.command == "healthcheck":
            return healthcheck(settings.host, settings.port)
        from frontend.server import serve

        return serve(settings)

    run_command("frontend", args.command, command)
