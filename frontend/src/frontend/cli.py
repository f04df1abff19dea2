"""Command line: `frontend serve` runs the web UI, `frontend healthcheck` probes it."""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request

HEALTHCHECK_TIMEOUT = 2.0


def serve() -> int:
    from pydantic import ValidationError

    from frontend.settings import Settings

    try:
        settings = Settings()
    except ValidationError as error:
        messages = "; ".join(str(detail["msg"]) for detail in error.errors())
        print(f"frontend: invalid configuration: {messages}", file=sys.stderr)
        return 2

    from frontend.server import serve as run_server

    return run_server(settings)


def healthcheck() -> int:
    """Exit 0 when /livez answers 200 within 2 s (standard library only: used by images)."""
    port = os.environ.get("FRONTEND_PORT", "8000")
    url = f"http://127.0.0.1:{port}/livez"
    try:
        with urllib.request.urlopen(url, timeout=HEALTHCHECK_TIMEOUT) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        healthy = False
    print("ok" if healthy else f"unhealthy: no 200 from {url}", file=sys.stderr)
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="frontend", description="Users web UI.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the pages (and /metrics on the metrics port)")
    commands.add_parser("healthcheck", help="exit 0 when the local server answers /livez")
    arguments = parser.parse_args(argv)
    handlers = {"serve": serve, "healthcheck": healthcheck}
    sys.exit(handlers[arguments.command]())
