"""A throwaway MySQL/MariaDB server, run by the stack's own scripts in a temporary directory.

scripts/mysql-run, mysql-ping and mysql-setup are what `make up` runs, so the tests and the
running stack share one MySQL lifecycle.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

from testkit.environment import scrubbed_environ
from testkit.network import free_port

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0


class MySQLServer:
    """A server of its own on a free loopback port, in the foreground of scripts/mysql-run."""

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

    def db_env(self, database: str | None = None) -> dict[str, str]:
        """The DB_* variables an application uses to reach this server."""
        return {
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(self.port),
            "DB_NAME": database or self.database,
            "DB_USER": self.user,
            "DB_PASSWORD": self.password,
        }

    def script_env(self, **overrides: str) -> dict[str, str]:
        return scrubbed_environ(
            **{
                "MYSQL_DATA_DIR": str(self.data_dir),
                "MYSQL_SOCKET": str(self.socket),
                # Linux native AIO (io_setup) fails on busy build machines and in sandboxes;
                # a test server does not need it.
                "MYSQL_NATIVE_AIO": "0",
                **self.db_env(),
                **overrides,
            }
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        for _attempt in range(3):
            if self._start_once(timeout):
                return
            # Another process took the port between choosing and binding it: choose again.
            self.port = free_port()
        raise RuntimeError(f"MySQL server did not start; log:\n{self.log_tail()}")

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
                if "already in use" in self.log_tail(10):
                    return False
                raise RuntimeError(
                    f"mysql-run exited with {self.process.returncode}; log:\n{self.log_tail()}"
                )
            if self._ping():
                return True
            time.sleep(0.05)  # polling interval of the readiness check
        self.stop()
        raise TimeoutError(f"MySQL not ready in {timeout:g} s; log:\n{self.log_tail()}")

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

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._socket_dir, ignore_errors=True)
