from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from frontend.app import create_app
from frontend.settings import Settings
from quart import Quart
from quart.typing import TestClientProtocol as QuartClient
from testkit.fake_backend import FakeBackend

pytest_plugins = ["testkit.plugins.isolation"]


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
