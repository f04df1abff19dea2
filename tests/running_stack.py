"""The whole stack, started by scripts/stack-up under process-compose, for the end-to-end tests.

Each stack gets free loopback ports, a temporary data directory, its own process-compose
socket and no .env (PC_DISABLE_DOTENV=1), so it never collides with a stack you are running.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from testkit.network import free_port
from testkit.procfs import command_line, descendants, start_time
from testkit.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent


LONG_RUNNING = ("mysql", "backend", "frontend")
# What OBSERVABILITY=1 adds (process-compose.observability.yaml).
OBSERVABILITY = ("metrics-store", "mysqld-exporter", "alerts")
ONE_SHOT = ("mysql-setup", "backend-migrate")
# Only these variables of the test runner's environment reach the stack.
# MYSQL_NATIVE_AIO=0 comes from machines where InnoDB's native AIO fails (the Nix check).
PASSED_THROUGH = (
    *("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "USERS_STACK_NO_VENV"),
    "MYSQL_NATIVE_AIO",
)

RUNTIME_PACKAGES = ("backend", "frontend", "servicekit")
IGNORED_IN_COPIES = shutil.ignore_patterns("__pycache__")

# (what, seconds) for every start, printed at the end of the run.
start_times: list[tuple[str, float]] = []


def process_compose() -> str:
    found = shutil.which("process-compose") or str(ROOT / "bin" / "process-compose")
    if not Path(found).exists():
        pytest.fail("process-compose is not installed: run 'make bootstrap' (or use nix develop)")
    return found


def copy_sources(destination: Path) -> dict[str, Path]:
    """Copy the src/ folder of every package the stack runs; returns package -> copy."""
    copies = {}
    for source in sorted(ROOT.glob("*/src")):
        if source.parent.name in RUNTIME_PACKAGES:
            copies[source.parent.name] = destination / source.parent.name
            shutil.copytree(source, copies[source.parent.name], ignore=IGNORED_IN_COPIES)
    return copies


class Stack:
    """One stack: MySQL/MariaDB, backend and frontend, supervised by process-compose."""

    def __init__(self, workdir: Path, *, observability: bool = False) -> None:
        self.workdir = workdir
        self.long_running = LONG_RUNNING + (OBSERVABILITY if observability else ())
        self.data_dir = workdir / "data"
        self.log_file = workdir / "stack.log"
        # Unix socket paths must stay short: keep them in a short directory of their own.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="stack-", dir="/tmp"))
        self.ports = {
            name: free_port() for name in ("DB_PORT", "BACKEND_PORT", "FRONTEND_PORT", "METRICS")
        }
        self.env = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
        self.env.update(
            {
                "PC_DISABLE_DOTENV": "1",
                "PC_SOCKET_PATH": str(self._socket_dir / "pc.sock"),
                "MYSQL_DATA_DIR": str(self.data_dir),
                "MYSQL_SOCKET": str(self._socket_dir / "mysqld.sock"),
                "STACK_LOG_FILE": str(self.log_file),
                "DB_PORT": str(self.ports["DB_PORT"]),
                "DB_PASSWORD": f"e2e_{secrets.token_hex(8)}",
                "BACKEND_PORT": str(self.ports["BACKEND_PORT"]),
                "FRONTEND_PORT": str(self.ports["FRONTEND_PORT"]),
                "FRONTEND_METRICS_PORT": str(self.ports["METRICS"]),
                "FRONTEND_BACKEND_URL": f"http://127.0.0.1:{self.ports['BACKEND_PORT']}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if observability:
            for name in ("METRICS_STORE_PORT", "MYSQLD_EXPORTER_PORT", "ALERTS_PORT"):
                self.ports[name] = free_port()
                self.env[name] = str(self.ports[name])
            self.env.update(
                OBSERVABILITY="1",
                METRICS_DATA_DIR=str(workdir / "metrics"),
                MONITOR_DB_PASSWORD=f"mon_{secrets.token_hex(8)}",
            )
        # The services import a copy of their sources: a test may change a file (live reload)
        # without touching the checkout, or reloading a stack you are running from it.
        self.sources = copy_sources(workdir / "sources")
        inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
        self.env["PYTHONPATH"] = os.pathsep.join([*map(str, self.sources.values()), *inherited])
        self.process: subprocess.Popen[bytes] | None = None
        # Every process of this stack seen so far, with its start time: a pid alone could be
        # reused by an unrelated process once ours has exited.
        self.seen: dict[int, int] = {}

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['BACKEND_PORT']}"

    @property
    def frontend_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['FRONTEND_PORT']}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['METRICS']}"

    def up(self, label: str, **extra_env: str) -> float:
        """Start the stack and wait until every process is ready; returns the seconds it took."""
        started = time.monotonic()
        with (self.workdir / "process-compose.out").open("ab") as out:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "stack-up"), "--tui=false"],
                cwd=ROOT,
                env={**self.env, **extra_env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_until(self.all_ready, 120, "every process of the stack to be ready", 0.1)
        except TimeoutError:
            self.kill()
            tail = self.log_tail()
            raise AssertionError(f"stack not ready; its log ends with:\n{tail}") from None
        elapsed = time.monotonic() - started
        start_times.append((label, elapsed))
        self.remember_processes()
        return elapsed

    def processes(self) -> dict[str, dict]:
        """process-compose's own view (`process list`), through its Unix socket."""
        result = subprocess.run(
            [process_compose(), "process", "list", "--output", "json"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        if result.returncode != 0:
            return {}
        return {entry["name"]: entry for entry in json.loads(result.stdout)}

    def all_ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"process-compose exited early:\n{self.log_tail()}")
        states = self.processes()
        return (
            bool(states)
            and all(states.get(name, {}).get("is_ready") == "Ready" for name in self.long_running)
            and all(states.get(name, {}).get("status") == "Completed" for name in ONE_SHOT)
        )

    def pid_of(self, name: str) -> int:
        return int(self.processes()[name]["pid"])

    def tree_pids(self) -> set[int]:
        """process-compose and every process below it."""
        assert self.process is not None
        return {self.process.pid, *descendants(self.process.pid)}

    def remember_processes(self) -> None:
        for pid in self.tree_pids():
            started = start_time(pid)
            if started:
                self.seen[pid] = started

    def still_running(self) -> list[int]:
        """The remembered processes that are still alive."""
        return [pid for pid, started in sorted(self.seen.items()) if start_time(pid) == started]

    def down(self) -> None:
        """`process-compose down`, as `make down` does."""
        subprocess.run(
            [process_compose(), "down"], env=self.env, capture_output=True, check=True, timeout=60
        )
        self.wait_exit()

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)
        self.wait_exit()

    def wait_exit(self, timeout: float = 90) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def leftovers(self) -> list[str]:
        """Processes of this stack still alive, as 'pid command' lines."""
        alive = []
        for pid in self.still_running():
            command = command_line(pid)
            if command is not None:
                alive.append(f"{pid} {command}")
        return alive

    def why_left(self) -> str:
        """For a failed shutdown: each leftover's signal state and, for a Python process, where
        each of its threads is (py-spy, when installed)."""
        reports = []
        for pid in self.still_running():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text().splitlines()
                wanted = ("SigPnd", "ShdPnd", "SigIgn", "SigCgt")
                signals = [line for line in status if line.startswith(wanted)]
                reports.append(f"{pid} {command_line(pid)}: {' '.join(signals)}")
            if shutil.which("py-spy"):
                dump = subprocess.run(
                    ["py-spy", "dump", "--pid", str(pid)],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )
                reports.append(dump.stdout + dump.stderr)
        return "\n".join(reports)

    def kill(self) -> None:
        """Last resort for a failed test: stop every process this stack started."""
        if self.process is not None and self.process.poll() is None:
            self.remember_processes()
        for pid in self.still_running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(Exception):
                self.down()
        if self.process is not None and (self.process.poll() is None or self.leftovers()):
            self.kill()
        shutil.rmtree(self._socket_dir, ignore_errors=True)
