from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from backend.app import create_app
from backend.settings import Settings
from quart import Quart
from quart.typing import TestClientProtocol as Client

pytest_plugins = [
    "testkit.plugins.isolation",
    "testkit.plugins.database",
    "testkit.plugins.backend",
]

_names = itertools.count()


def settings_for(env: dict[str, str], **overrides: object) -> Settings:
    values: dict[str, object] = {key.lower(): value for key, value in env.items()}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_settings(db_env: dict[str, str]) -> Callable[..., Settings]:
    """Settings for the session's database, with overrides: make_settings(db_pool_size=2)."""
    return lambda **overrides: settings_for(db_env, **overrides)


@pytest_asyncio.fixture(scope="session")
async def app(db_env: dict[str, str]) -> AsyncIterator[Quart]:
    """The real application against the session's database, served in-process."""
    application = create_app(settings_for(db_env), configure_logs=False)
    async with application.test_app():
        yield application


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()


@pytest.fixture
def unique() -> str:
    """A username no other test uses."""
    return f"u{os.getpid() % 1000}x{next(_names)}"
