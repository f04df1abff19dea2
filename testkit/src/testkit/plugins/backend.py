"""Real `backend serve` processes against the session's database (needs the database plugin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testkit.services import BackendProcess


@pytest.fixture
def backend_factory(
    db_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., BackendProcess]]:
    """Make `backend serve` processes with extra environment; all are stopped afterwards.

    `backend_factory(BACKEND_WORKERS="2").start()` -> BackendProcess with .url.
    """
    made: list[BackendProcess] = []

    def make(**env: str) -> BackendProcess:
        process = BackendProcess({**db_env, **env}, tmp_path / f"backend-{len(made)}.log")
        made.append(process)
        return process

    yield make
    for process in made:
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
