"""The benchmark's servers and what they use: CPU time and resident memory."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from testkit.mysql import MySQLServer
from testkit.processes import ServerProcess
from testkit.procfs import descendants, proportional_mib, resident_mib, server_role, stat
from testkit.project import scripts_dir
from testkit.services import run_backend_migrate

SEED_USERS = 1000


class BenchServer(ServerProcess):
    """A server configured like the backend: BACKEND_HOST, BACKEND_PORT and DB_* variables."""

    port_variables = ("BACKEND_PORT",)

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        super().__init__(name, command, {**env, "BACKEND_HOST": "127.0.0.1"}, logs / f"{name}.log")


class PageServer(ServerProcess):
    """A server configured like the frontend: FRONTEND_HOST and FRONTEND_PORT."""

    port_variables = ("FRONTEND_PORT",)

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        super().__init__(name, command, {**env, "FRONTEND_HOST": "127.0.0.1"}, logs / f"{name}.log")


def tree(pid: int) -> list[int]:
    return [pid, *sorted(descendants(pid))]


def cpu_seconds(pids: list[int]) -> float:
    """User plus system time the processes have used so far."""
    return sum(found.cpu_seconds for found in map(stat, pids) if found is not None)


class MemoryWatch:
    """Resident memory of each role's processes: idle now, and the peak while sampling."""

    def __init__(self, roles: dict[str, list[int]]) -> None:
        self.roles = roles
        self.idle = self.snapshot()
        # Proportional set size: shared pages (libraries, copy-on-write) counted once in all.
        self.idle_pss = {
            role: sum(proportional_mib(pid) for pid in pids) for role, pids in roles.items()
        }
        self.idle_pss_per_process = {
            role: [(server_role(pid, pids), round(proportional_mib(pid), 1)) for pid in pids]
            for role, pids in roles.items()
        }
        self.peak = dict(self.idle)
        self._stop = threading.Event()

    def snapshot(self) -> dict[str, float]:
        return {role: sum(resident_mib(pid) for pid in pids) for role, pids in self.roles.items()}

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for role, mib in self.snapshot().items():
                self.peak[role] = max(self.peak[role], mib)

    @contextlib.contextmanager
    def sampling(self) -> Iterator[None]:
        self._stop.clear()
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        try:
            yield
        finally:
            self._stop.set()
            sampler.join()

    def report(self) -> dict[str, dict[str, Any]]:
        return {
            role: {
                "processes": len(pids),
                "idle_mib": round(self.idle[role], 1),
                "load_mib": round(self.peak[role], 1),
                "idle_pss_mib": round(self.idle_pss[role], 1),
                "idle_pss_per_process": self.idle_pss_per_process[role],
            }
            for role, pids in self.roles.items()
        }


# --- database ----------------------------------------------------------------------------------


def start_database(stack: contextlib.ExitStack, workdir: Path) -> MySQLServer:
    """The project's own MySQL lifecycle scripts, in a temporary directory; 1,000 users."""
    server = MySQLServer(scripts_dir(), workdir / "mysql")
    server.workdir.mkdir()
    stack.callback(server.cleanup)
    server.start()
    server.setup()
    run_backend_migrate(server.db_env())
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO users (username, full_name, email) VALUES (%s, %s, %s)",
                [
                    (f"user{n:04d}", f"Seeded User {n}", f"user{n:04d}@example.com")
                    for n in range(1, SEED_USERS + 1)
                ],
            )
    finally:
        connection.close()
    return server
