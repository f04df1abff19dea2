"""ServiceQuart: every request gets an id, one access line and its metrics, by route template."""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from quart import Blueprint, g, render_template_string
from servicekit.app import ServiceQuart
from servicekit.request_id import current_request_id
from servicekit.routes import UNMATCHED_ROUTE


class RecordedMetrics:
    def __init__(self, fail=False):
        self.in_flight = 0
        self.observed = []
        self.fail = fail

    def request_started(self):
        self.in_flight += 1

    def request_finished(self):
        self.in_flight -= 1

    def observe_request(self, method, route, status, seconds):
        if self.fail:
            raise OSError("metrics directory gone")
        self.observed.append((method, route, status, seconds))


def make_app(metrics=None, access_log=True):
    app = ServiceQuart("shop")
    app.track_requests("shop", access_log=access_log, metrics=metrics)

    @app.get("/items/<int:item_id>")
    async def item(item_id):
        return {"item": item_id, "request_id": current_request_id()}

    @app.get("/broken")
    async def broken():
        raise RuntimeError("a bug")

    return app


async def test_a_sane_request_id_is_echoed_and_current_during_the_request():
    response = await make_app().test_client().get("/items/7", headers={"X-Request-ID": "abc-1"})
    assert response.headers["X-Request-ID"] == "abc-1"
    assert (await response.get_json())["request_id"] == "abc-1"


async def test_an_unsafe_request_id_is_replaced():
    response = await make_app().test_client().get("/items/7", headers={"X-Request-ID": "a b"})
    assert response.headers["X-Request-ID"] not in ("", "a b")


async def test_metrics_are_recorded_by_route_template():
    metrics = RecordedMetrics()
    client = make_app(metrics).test_client()
    await client.get("/items/7")
    await client.get("/nowhere")
    await client.get("/broken")
    assert [observed[:3] for observed in metrics.observed] == [
        ("GET", "/items/{item_id}", 200),
        ("GET", UNMATCHED_ROUTE, 404),
        ("GET", "/broken", 500),
    ]
    assert all(observed[3] >= 0 for observed in metrics.observed)
    assert metrics.in_flight == 0


async def test_failing_metrics_never_fail_the_request(caplog):
    response = await make_app(RecordedMetrics(fail=True)).test_client().get("/items/1")
    assert response.status_code == 200
    assert "could not record request metrics" in caplog.text


async def test_one_access_line_per_request_with_its_fields(caplog):
    caplog.set_level(logging.INFO, logger="shop.access")
    client = make_app().test_client()
    await client.get("/items/7?x=1", headers={"X-Request-ID": "req-9", "User-Agent": "probe"})
    [record] = [record for record in caplog.records if record.name == "shop.access"]
    assert record.getMessage() == "GET /items/7 200"
    assert (record.request_id, record.route, record.status, record.user_agent) == (
        "req-9",
        "/items/{item_id}",
        200,
        "probe",
    )
    assert record.duration_ms >= 0


async def test_no_access_line_when_it_is_off_or_below_the_level(caplog):
    caplog.set_level(logging.INFO, logger="shop.access")
    await make_app(access_log=False).test_client().get("/items/7")
    caplog.set_level(logging.WARNING, logger="shop.access")
    await make_app().test_client().get("/items/7")
    assert [record for record in caplog.records if record.name == "shop.access"] == []


class CountingExecutor(ThreadPoolExecutor):
    submitted = 0

    def submit(self, *args, **kwargs):
        self.submitted += 1
        return super().submit(*args, **kwargs)


async def test_a_blueprint_renders_its_templates_without_a_thread():
    app = ServiceQuart("shop")
    pages = Blueprint("pages", __name__)

    @pages.get("/hello")
    async def hello():
        g.visitor = "Ada"
        return await render_template_string("{{ g.visitor }} at {{ request.path }}")

    app.register_blueprint(pages)
    executor = CountingExecutor(max_workers=1)
    asyncio.get_running_loop().set_default_executor(executor)
    try:
        response = await app.test_client().get("/hello")
        assert (await response.get_data(as_text=True)) == "Ada at /hello"
        assert executor.submitted == 0  # Quart runs a plain context processor in a thread
    finally:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
        executor.shutdown()
