"""A server process started by a test: free ports, wait until it answers, stop, read its log."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from testkit import procfs
from testkit.network import free_port, http_status
from testkit.waiting import wait_until

START_ATTEMPTS = 3  # another process may take a free port before the server binds it


def wait_until_gone(pids: list[int] | set[int], timeout: float = 10.0) -> None:
    """Wait until none of the processes runs any more (workers leave a moment after a master)."""
    wait_until(
        lambda: not any(procfs.is_running(pid) for pid in pids), timeout, f"{sorted(pids)} to exit"
    )


class ServerProcess:
    """One command in a process group of its own (as under a process supervisor), on loopback.

    `port_variables` name the environment variables that get a free port each; the first one is
    the port of `url`. The output goes to `log_path`.
    """

    port_variables: tuple[str, ...] = ("PORT",)
    signal_whole_group = False  # whether stop() signals every process of the group

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self.ports: dict[str, int] = {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return self.ports[self.port_variables[0]]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(
        self, ready_path: str = "/livez", timeout: float = 30.0, *, interval: float = 0.05
    ) -> ServerProcess:
        """Start, and return once `ready_path` answers 200 (see `is_ready`, asked every
        `interval` seconds)."""
        for _attempt in range(START_ATTEMPTS):
            self.ports = {name: free_port() for name in self.port_variables}
            env = {**self.env, **{name: str(port) for name, port in self.ports.items()}}
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    self.command,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            try:
                wait_until(
                    lambda: self.process.poll() is not None or self.is_ready(ready_path),
                    timeout,
                    f"{self.name} {ready_path} to answer 200",
                    interval,
                )
            except TimeoutError:
                self.stop()
                raise TimeoutError(
                    f"{self.name} not ready in {timeout:g} s; log:\n{self.log_tail()}"
                ) from None
            if self.process.poll() is None:
                return self
            if "address already in use" not in self.log_tail().lower():
                break
        raise RuntimeError(
            f"{self.name} exited with {self.process.returncode}; log:\n{self.log_tail()}"
        )

    def is_ready(self, ready_path: str) -> bool:
        return self.get_status(ready_path) == 200

    def get_status(self, path: str, timeout: float = 2.0) -> int | None:
        return http_status(self.url + path, timeout)

    def children(self) -> list[int]:
        """Every process below this one (workers, multiprocessing's resource tracker)."""
        return sorted(procfs.descendants(self.process.pid)) if self.process is not None else []

    def workers(self) -> list[int]:
        """The children that are Hypercorn workers: forked by the master, or spawned by
        the master for the reloader; not multiprocessing's resource tracker."""
        if self.process is None:
            return []
        children = self.children()
        tree = [self.process.pid, *children]
        return [pid for pid in children if procfs.server_role(pid, tree) == "worker"]

    def stop(self, *, whole_group: bool | None = None, timeout: float = 30.0) -> int | None:
        """SIGTERM (to the process group, as process managers do, if `whole_group`), then wait.

        Returns the exit code; None if the server had to be killed after `timeout` seconds.
        """
        process = self.process
        if process is None:
            return None
        if whole_group is None:
            whole_group = self.signal_whole_group
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if whole_group:
                    os.killpg(process.pid, signal.SIGTERM)
                else:
                    process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return None
        return process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_lines(self) -> list[str]:
        return self.log_text().splitlines()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_lines()[-lines:]) or "(no log)"

    def log_entries(self) -> list[dict[str, Any]]:
        """The JSON lines written so far (other lines are skipped)."""
        entries = []
        for line in self.log_lines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    entries.append(entry)
        return entries
