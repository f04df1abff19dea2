"""The frontend's fake backend (testkit.fake_backend) answers as the real backend does."""

from __future__ import annotations

from typing import Any

import httpx
from testkit.fake_backend import HEALTHY, FakeBackend


def shape(value: Any) -> Any:
    """A JSON value with every leaf replaced by its kind: what a client may rely on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    return "number" if isinstance(value, int | float) else type(value).__name__


async def answers(base_url: str, path: str, transport: Any = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=5) as client:
        return await client.get(path)


async def test_healthz_has_the_shape_of_the_real_one(live_backend: str) -> None:
    real = await answers(live_backend, "/healthz")
    fake = await answers("http://backend.test", "/healthz", FakeBackend().transport)

    assert real.status_code == fake.status_code == 200
    assert shape(fake.json()) == shape(real.json())
    assert fake.json() == HEALTHY


def test_shape_tells_a_missing_or_renamed_field() -> None:
    assert shape({"database": {"pool": {"size": 1}}}) != shape({"database": {"pool_size": 10}})
    assert shape({"latency_ms": 0.4}) == shape({"latency_ms": 3})
