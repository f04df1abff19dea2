from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

# The throwaway MySQL server and the real backend for the integration and browser tests.
from backend.testing import *  # noqa: F403
from frontend.app import create_app
from frontend.settings import Settings
from frontend.testing import FakeBackend
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient


@pytest.fixture(autouse=True)
def _isolated_from_frontend_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings in tests come from the test, never from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("FRONTEND_") or name == "PROMETHEUS_MULTIPROC_DIR":
            monkeypatch.delenv(name)


@pytest.fixture
def fake_backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def settings() -> Settings:
    return Settings(backend_url="http://backend.test", secret_key="test-secret")


@pytest.fixture
async def app(settings: Settings, fake_backend: FakeBackend) -> AsyncIterator[Quart]:
    app = create_app(settings, transport=fake_backend.transport)
    async with app.test_app():
        yield app


@pytest.fixture
def client(app: Quart) -> QuartClient:
    return app.test_client()
