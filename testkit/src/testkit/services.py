"""The stack's services as real processes: `backend serve`, `backend migrate`, `frontend serve`.

Each runs through the interpreter running the tests (`python -m ...`), so it is the code of this
checkout (or of the package being built) that is tested.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

from testkit.environment import scrubbed_environ
from testkit.network import http_status
from testkit.processes import ServerProcess

BACKEND_COMMAND = [sys.executable, "-m", "backend.cli"]
FRONTEND_COMMAND = [sys.executable, "-m", "frontend"]
_started = itertools.count()


class BackendProcess(ServerProcess):
    """`backend serve` on a free loopback port."""

    port_variables = ("BACKEND_PORT",)

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__(
            "backend",
            [*BACKEND_COMMAND, "serve"],
            scrubbed_environ(BACKEND_HOST="127.0.0.1", BACKEND_LOG_LEVEL="info", **env),
            log_path,
        )

    def start(self, ready_path: str = "/healthz", timeout: float = 30.0) -> BackendProcess:
        """Start and wait until `ready_path` answers 200 ("/livez" when the DB is down)."""
        super().start(ready_path, timeout)
        return self


class FrontendProcess(ServerProcess):
    """`frontend serve` on free loopback ports (pages and metrics) against `backend_url`."""

    port_variables = ("FRONTEND_PORT", "FRONTEND_METRICS_PORT")
    signal_whole_group = True

    def __init__(self, backend_url: str, log_path: Path, **env: str) -> None:
        super().__init__(
            "frontend",
            [*FRONTEND_COMMAND, "serve"],
            scrubbed_environ(FRONTEND_HOST="127.0.0.1", FRONTEND_BACKEND_URL=backend_url, **env),
            log_path,
        )

    @property
    def metrics_port(self) -> int:
        return self.ports["FRONTEND_METRICS_PORT"]

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def is_ready(self, ready_path: str) -> bool:
        return super().is_ready(ready_path) and http_status(self.metrics_url) == 200

    def start(self, ready_path: str = "/livez", timeout: float = 30.0) -> FrontendProcess:
        super().start(ready_path, timeout)
        return self


def start_frontend(backend_url: str, log_dir: Path, **settings: str) -> FrontendProcess:
    """A started `frontend serve`; `settings` are FRONTEND_* values: workers="2" and so on."""
    env = {f"FRONTEND_{name.upper()}": value for name, value in settings.items()}
    log_path = log_dir / f"frontend-{next(_started)}.log"
    return FrontendProcess(backend_url, log_path, **env).start()


def run_backend_migrate(env: dict[str, str]) -> None:
    """Apply the migrations with `backend migrate`, exactly as a deployment does."""
    result = subprocess.run(
        [*BACKEND_COMMAND, "migrate"],
        env=scrubbed_environ(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"backend migrate failed: {result.stdout}{result.stderr}")
