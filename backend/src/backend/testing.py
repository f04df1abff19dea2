"""Pytest fixtures: a throwaway MySQL/MariaDB server and real `backend serve` processes.

Test packages pull them in from their conftest.py with

    from backend.testing import *  # noqa: F401,F403

The server is started by the project's own scripts (scripts/mysql-run, scripts/mysql-setup),
so tests and the running stack share one MySQL lifecycle. It lives in a temporary directory,
on a free loopback port, once per test session.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

__all__ = [
    "BackendProcess",
    "MySQLServer",
    "backend_factory",
    "db_env",
    "descendants",
    "empty_users_table",
    "find_scripts_dir",
    "free_port",
    "is_running",
    "live_backend",
    "live_backend_process",
    "mysql_server",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "wait_until",
]

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
# Variables of the environment running the tests that would change what a started process does.
_INHERITED_BUT_IGNORED = (
    "DATABASE_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "prometheus_multiproc_dir",
)
_INHERITED_PREFIXES = ("DB_", "BACKEND_", "MYSQL_")


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def is_running(pid: int) -> bool:
    """True for a live process; False once it is gone or a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def find_scripts_dir() -> Path:
    """Where scripts/mysql-run is: $STACK_SCRIPTS_DIR, a parent's scripts/, or on PATH."""
    configured = os.environ.get("STACK_SCRIPTS_DIR")
    if configured:
        path = Path(configured)
        if (path / "mysql-run").is_file():
            return path
        raise FileNotFoundError(f"STACK_SCRIPTS_DIR={configured} has no mysql-run")
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "scripts" / "mysql-run").is_file():
                return folder / "scripts"
    on_path = shutil.which("mysql-run")
    if on_path:
        return Path(on_path).parent
    raise FileNotFoundError(
        "cannot find scripts/mysql-run: set STACK_SCRIPTS_DIR or put mysql-run on PATH"
    )


def _clean_environ() -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in _INHERITED_BUT_IGNORED and not key.startswith(_INHERITED_PREFIXES)
    }
    # The stack scripts read the project's .env unless told not to; a developer's .env must not
    # move the throwaway server onto the ports or data directory of their running stack.
    environ["PC_DISABLE_DOTENV"] = "1"
    return environ


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class MySQLServer:
    """A MySQL/MariaDB server of its own, run by scripts/mysql-run in the foreground."""

    def __init__(self, scripts: Path, workdir: Path) -> None:
        self.scripts = scripts
        self.workdir = workdir
        self.data_dir = workdir / "data"
        # Unix socket paths over ~100 characters fail: keep it under a short directory.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="my-", dir="/tmp"))
        self.socket = self._socket_dir / "mysqld.sock"
        self.log_path = workdir / "mysqld.log"
        self.port = free_port()
        self.database = "users"
        self.user = "users_app"
        self.password = f"test_{secrets.token_hex(8)}"
        self.process: subprocess.Popen[bytes] | None = None

    def script_env(self, **overrides: str) -> dict[str, str]:
        env = _clean_environ()
        env.update(
            {
                "MYSQL_DATA_DIR": str(self.data_dir),
                "MYSQL_SOCKET": str(self.socket),
                **self.db_env(),
                **overrides,
            }
        )
        return env

    def db_env(self, database: str | None = None) -> dict[str, str]:
        """The DB_* variables an application uses to reach this server."""
        return {
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(self.port),
            "DB_NAME": database or self.database,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
        }

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        for _attempt in range(3):
            if self._start_once(timeout):
                return
            # Another process took the port between choosing and binding it: choose again.
            self.port = free_port()
        raise RuntimeError(f"MySQL server did not start; log:\n{_tail(self.log_path)}")

    def _start_once(self, timeout: float) -> bool:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.scripts / "mysql-run")],
                env=self.script_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                if "already in use" in _tail(self.log_path, 10):
                    return False
                raise RuntimeError(
                    f"mysql-run exited with {self.process.returncode}; log:\n{_tail(self.log_path)}"
                )
            if self._ping():
                return True
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"MySQL not ready in {timeout:g} s; log:\n{_tail(self.log_path)}")

    def _ping(self) -> bool:
        result = subprocess.run(
            [str(self.scripts / "mysql-ping")],
            env=self.script_env(),
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def setup(self, database: str | None = None) -> None:
        """Run scripts/mysql-setup: the database and the application user."""
        overrides = {"DB_NAME": database} if database else {}
        result = subprocess.run(
            [str(self.scripts / "mysql-setup")],
            env=self.script_env(**overrides),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mysql-setup failed: {result.stdout}{result.stderr}")

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Shut the server down cleanly (SIGTERM) and wait for it."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGCONT)  # in case it was paused
            process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Crash the server (SIGKILL): no clean shutdown, as after an OOM kill."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def connect(self, database: str | None = None) -> pymysql.connections.Connection:
        """A plain client connection as the application user, for checks made by tests."""
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            database=database or self.database,
            autocommit=True,
            connect_timeout=5,
        )

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._socket_dir, ignore_errors=True)


class BackendProcess:
    """`backend serve` in a subprocess on a free loopback port, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.extra_env = env
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/healthz", timeout: float = 30.0) -> BackendProcess:
        """Start and wait until `ready_path` answers 200 ("/livez" when the DB is down)."""
        for _attempt in range(3):
            self.port = free_port()
            env = _clean_environ()
            env.update(
                {
                    "BACKEND_HOST": "127.0.0.1",
                    "BACKEND_PORT": str(self.port),
                    "BACKEND_LOG_LEVEL": "info",
                    "PYTHONUNBUFFERED": "1",
                    **self.extra_env,
                }
            )
            with self.log_path.open("ab") as log:
                # A process group of its own, as under a process supervisor: tests may signal
                # the whole group without reaching the test runner.
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "backend.cli", "serve"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            try:
                wait_until(
                    lambda: self.process.poll() is not None or self.get_status(ready_path) == 200,
                    timeout,
                    f"backend {ready_path} to answer 200",
                )
            except TimeoutError:
                self.stop()
                raise TimeoutError(
                    f"backend not ready in {timeout:g} s; log:\n{_tail(self.log_path)}"
                ) from None
            if self.process.poll() is None:
                return self
            if "address already in use" not in _tail(self.log_path).lower():
                break
        raise RuntimeError(
            f"backend exited with {self.process.returncode}; log:\n{_tail(self.log_path)}"
        )

    def get_status(self, path: str, timeout: float = 2.0) -> int | None:
        try:
            url = self.url + path  # always http://127.0.0.1:<port>/...
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except (urllib.error.URLError, OSError):
            return None

    def children(self) -> list[int]:
        """Process ids of every process below this one (workers, resource tracker)."""
        return sorted(descendants(self.process.pid)) if self.process is not None else []

    def workers(self) -> list[int]:
        """The children that are Hypercorn workers (not multiprocessing's resource tracker)."""
        found = []
        for pid in self.children():
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
        return found

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then wait; returns the exit code (None if it had to be killed)."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return None
        return process.returncode

    def log_entries(self) -> list[dict[str, Any]]:
        """The JSON lines the process wrote so far (other lines are skipped)."""
        entries = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    entries.append(entry)
        return entries


def _migrate(env: dict[str, str]) -> None:
    """Apply the migrations with `backend migrate`, exactly as a deployment does."""
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "migrate"],
        env={**_clean_environ(), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"backend migrate failed: {result.stdout}{result.stderr}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: needs a MySQL/MariaDB server (and so live servers or a browser)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the database server, directly or through another fixture.

    Package builds without a database (the Nix packages) run `-m "not integration"`.
    """
    for item in items:
        if "mysql_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def mysql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MySQLServer]:
    """A running MySQL/MariaDB server with the application database and user, for the session.

    Tests that stop or pause it must start or resume it again before they end.
    """
    server = MySQLServer(find_scripts_dir(), tmp_path_factory.mktemp("mysql"))
    try:
        server.start()
        server.setup()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def db_env(mysql_server: MySQLServer) -> dict[str, str]:
    """DB_* variables for the session's server, with the migrations applied."""
    env = mysql_server.db_env()
    _migrate(env)
    return env


@pytest.fixture
def empty_users_table(mysql_server: MySQLServer, db_env: dict[str, str]) -> dict[str, str]:
    """Delete every user first, for tests that count them."""
    connection = mysql_server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM users")
    finally:
        connection.close()
    return db_env


@pytest.fixture
def backend_factory(
    db_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., BackendProcess]]:
    """Start `backend serve` processes with extra environment; all are stopped afterwards.

    `backend_factory(BACKEND_WORKERS="2").start()` -> BackendProcess with .url.
    """
    started: list[BackendProcess] = []

    def make(**env: str) -> BackendProcess:
        process = BackendProcess({**db_env, **env}, tmp_path / f"backend-{len(started)}.log")
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def live_backend_process(
    db_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackendProcess]:
    """A real `backend serve` on loopback against the session's database (with its log)."""
    process = BackendProcess(db_env, tmp_path_factory.mktemp("backend") / "backend.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def live_backend(live_backend_process: BackendProcess) -> str:
    """Base URL of the session's real backend, e.g. http://127.0.0.1:40123."""
    return live_backend_process.url
