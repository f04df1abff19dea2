"""End-to-end fixtures: stacks on free ports with temporary data (see running_stack.py), and
the throwaway database, a live backend and Chromium for the tests that need both services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from running_stack import Stack, start_times

pytest_plugins = [
    "testkit.plugins.isolation",
    "testkit.plugins.database",
    "testkit.plugins.backend",
    "testkit.plugins.browser",
]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack shared by the end-to-end tests, started once (cold: empty data directory)."""
    running = Stack(tmp_path_factory.mktemp("stack"))
    try:
        running.up("cold start, shared stack")
        yield running
    finally:
        running.cleanup()


@pytest.fixture
def new_stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack of the test's own, not started yet."""
    fresh = Stack(tmp_path)
    try:
        yield fresh
    finally:
        fresh.cleanup()


@pytest.fixture
def browser_client(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client for the pages, keeping the session cookie like a browser."""
    with httpx.Client(base_url=stack.frontend_url, timeout=10) as client:
        yield client


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if start_times:
        terminalreporter.section("stack start-up: process-compose up -> every process ready")
        for label, seconds in start_times:
            terminalreporter.write_line(f"{seconds:6.2f} s  {label}")
