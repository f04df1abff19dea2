"""Start-up and live reload of one service, timed from the outside.

- Start: from exec of `backend serve` to the first 200 on /healthz.
- Reload: a service in development mode (`*_RELOAD=true`, one worker, as `make up` runs it)
  from a copy of the sources; a route is appended to one of its blueprint files, as a developer
  saving a change, and the time until that route answers 200 is the reload loop.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from processes import BenchServer
from testkit.network import http_status
from testkit.services import FrontendProcess

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.01
PACKAGES = ("backend", "frontend", "servicekit")
# The blueprint file a change is saved in, and how a route is added to it.
EDITS = {
    "backend": ("backend/src/backend/blueprints/ops.py", "ops"),
    "frontend": ("frontend/src/frontend/blueprints/home.py", "bp"),
}


def poll(url: str, timeout: float) -> float:
    """Seconds until `url` answers 200 (polled every 10 ms); raises after `timeout`."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if http_status(url, 1.0) == 200:
            return time.monotonic() - began
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{url} did not answer 200 in {timeout:g} s")


def time_backend_starts(env: dict[str, str], logs: Path, repeats: int) -> dict[str, Any]:
    """exec → first 200 on /healthz, `repeats` times (the process is stopped in between)."""
    seconds = []
    for attempt in range(repeats):
        server = BenchServer(
            f"backend_start_{attempt}", [sys.executable, "-m", "backend.cli", "serve"], env, logs
        )
        try:
            began = time.monotonic()
            server.start("/healthz", 60, interval=POLL_SECONDS)  # a figure is up to 10 ms late
            seconds.append(time.monotonic() - began)
        finally:
            server.stop()
    return summary(seconds)


def copy_sources(target: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package / "src",
            target / package / "src",
            ignore=shutil.ignore_patterns("__pycache__"),
        )


def time_reloads(
    service: str, env: dict[str, str], logs: Path, workdir: Path, repeats: int
) -> dict[str, Any]:
    """Save a new route into a blueprint of a development-mode `service`; seconds until it
    answers, `repeats` times."""
    source = workdir / f"reload-{service}"
    copy_sources(source)
    python_path = ":".join(str(source / package / "src") for package in PACKAGES)
    settings = {"PYTHONPATH": python_path}
    prefix = service.upper()
    settings |= {f"{prefix}_RELOAD": "true", f"{prefix}_WORKERS": "1"}
    if service == "backend":
        server = BenchServer(
            "backend_reload", [sys.executable, "-m", "backend.cli", "serve"], env | settings, logs
        )
        ready = "/healthz"
    else:
        server = FrontendProcess(env["FRONTEND_BACKEND_URL"], logs / "frontend_reload.log")
        server.env |= settings
        ready = "/livez"
    blueprint_file, blueprint = EDITS[service]
    edited = source / blueprint_file
    seconds = []
    try:
        server.start(ready, 60)
        for attempt in range(1, repeats + 1):
            route = f"/bench-reload-{attempt}"
            with edited.open("a") as file:
                file.write(
                    f"\n\n@{blueprint}.get({route!r})\n"
                    f"async def bench_reload_{attempt}() -> dict:\n"
                    f"    return {{'reloaded': {attempt}}}\n"
                )
            seconds.append(poll(server.url + route, 30))
    finally:
        server.stop()
    return summary(seconds)


def summary(seconds: list[float]) -> dict[str, Any]:
    return {
        "seconds": [round(s, 3) for s in seconds],
        "median": round(statistics.median(seconds), 3),
    }
