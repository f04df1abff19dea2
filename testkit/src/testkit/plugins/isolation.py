"""Settings come from the environment: keep a developer's exported values out of the tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from testkit.environment import is_own


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment() -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in list(os.environ) if is_own(name)}
    yield
    os.environ.update(saved)
