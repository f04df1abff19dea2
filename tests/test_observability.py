"""OBSERVABILITY=1: the metrics store scraping a real stack, its alerts and its dashboards."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from running_stack import OBSERVABILITY, Stack
from testkit.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts"))
DASHBOARDS = {
    path: json.loads(path.read_text())
    for path in sorted((ROOT / "observability" / "dashboards").glob("*.json"))
}
TARGETS = {"backend", "frontend", "mysql", "metrics-store", "alerts"}


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack with OBSERVABILITY=1, two workers per service, scraped every second, and the
    real alert rules with `for` cut to 2 s so that a test sees them fire."""
    workdir = tmp_path_factory.mktemp("observed")
    rules = yaml.safe_load((ROOT / "observability" / "alerts" / "stack.yml").read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            rule["for"] = "2s"
    (workdir / "rules.yml").write_text(yaml.safe_dump(rules))
    stack = Stack(workdir, observability=True)
    try:
        stack.up(
            "cold start, OBSERVABILITY=1",
            STACK_MODE="production",
            METRICS_SCRAPE_INTERVAL="1s",
            ALERTS_RULES=str(workdir / "rules.yml"),
            FRONTEND_SECRET_KEY="observability-test",
        )
        yield stack
    finally:
        stack.cleanup()


def store_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.ports['METRICS_STORE_PORT']}"


def query(stack: Stack, promql: str) -> list[dict]:
    answer = httpx.get(
        f"{store_url(stack)}/api/v1/query", params={"query": promql, "nocache": "1"}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()["data"]["result"]


def firing(stack: Stack, name: str) -> bool:
    alerts = httpx.get(f"http://127.0.0.1:{stack.ports['ALERTS_PORT']}/api/v1/alerts", timeout=10)
    return any(
        alert["name"] == name and alert["state"] == "firing"
        for alert in alerts.json()["data"]["alerts"]
    )


def test_every_process_is_ready_and_bound_to_loopback(observed: Stack) -> None:
    states = observed.processes()
    for name in OBSERVABILITY:
        assert states[name]["is_ready"] == "Ready", name
    for port in ("METRICS_STORE_PORT", "MYSQLD_EXPORTER_PORT", "ALERTS_PORT"):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.2:{observed.ports[port]}/", timeout=2)


def test_every_target_is_up(observed: Stack) -> None:
    def all_up() -> bool:
        results = query(observed, "up")
        return {r["metric"]["job"] for r in results if r["value"][1] == "1"} == TARGETS

    wait_until(all_up, 30, "every scrape target up", 0.5)
    # mysqld_exporter's own verdict: it reached the server as the monitoring user.
    wait_until(lambda: query(observed, "mysql_up == 1"), 30, "mysql_up == 1", 0.5)


def test_route_rates_are_summed_over_both_workers(observed: Stack) -> None:
    route = "/api/v1/users/{user_id}"
    series = f'backend_http_requests_total{{route="{route}"}}'
    pages = 'frontend_http_requests_total{route="/users"}'
    with httpx.Client(timeout=10) as client:
        # Both series must be in the store before the load: an increase is measured from there.
        client.get(f"{observed.backend_url}/api/v1/users/1")
        client.get(f"{observed.frontend_url}/users")
        wait_until(lambda: query(observed, series), 30, "the route's series in the store", 0.5)
        wait_until(lambda: query(observed, pages), 30, "the page's series in the store", 0.5)
        for user_id in range(1, 41):
            client.get(f"{observed.backend_url}/api/v1/users/{user_id}")
            client.get(f"{observed.frontend_url}/users")
    # Two workers answered them; the backend's one scrape adds up every worker's counts.
    for counter, what in ((series, "API requests"), (pages, "pages")):
        counted = f"sum(increase({counter}[1m])) >= 40"
        wait_until(
            lambda q=counted: query(observed, q), 30, f"the store to count the 40 {what}", 0.5
        )
    for counter in (series, pages):
        rate = query(observed, f"sum(rate({counter}[1m]))")
        assert float(rate[0]["value"][1]) > 0, counter


DRAWN = """() => {
    const panels = [...document.querySelectorAll(".vm-predefined-panel")];
    return panels.length > 0 && !document.querySelector(".vm-spinner") && panels.every(
        (panel) => panel.querySelector(".uplot canvas") && panel.querySelector(".vm-legend-item"));
}"""


def test_dashboards_show_data(observed: Stack, chromium) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=10) as client:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # load for the panels, bounded in time
            client.get(f"{observed.frontend_url}/users")
            client.get(f"{observed.frontend_url}/users/999999")
    for dashboard, definition in DASHBOARDS.items():
        for row in definition["rows"]:
            for panel in row["panels"]:
                for expr in panel["expr"]:
                    assert query(observed, expr), f"{dashboard.name}: {panel['title']}: no data"
    # Tall enough for every panel at once: vmui queries only the panels in view.
    page = chromium.new_page(viewport={"width": 1600, "height": 4000})
    # The last 2 minutes: the whole life of this stack, not a sliver at the right of an hour.
    page.goto(f"{store_url(observed)}/vmui/#/dashboards?g0.range_input=2m&g0.relative_time=none")
    for dashboard, definition in DASHBOARDS.items():
        page.get_by_text(definition["title"], exact=True).first.click()
        page.wait_for_function(DRAWN, timeout=30_000)
        closed = page.locator(
            ".vm-predefined-dashboard > .vm-accordion-header:not(.vm-accordion-header_open)"
        )
        # Open every row, one by one; a synthetic click, as a pointer click on the header
        # did not reach its handler.
        for _ in range(len(definition["rows"])):
            if closed.count():
                closed.first.dispatch_event("click")
        # Drawn: no panel still loading, and every panel has its chart and a series' legend.
        page.wait_for_function(DRAWN, timeout=30_000)
        page.screenshot(path=ARTIFACTS / f"dashboard-{dashboard.stem}.png", full_page=True)


def hold_port(port: int) -> socket.socket | None:
    """A listener on the port, once the killed server has let go of it (None until then)."""
    holder = socket.socket()
    # As servers do: the scrapes' connections in TIME_WAIT must not keep the port taken.
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("127.0.0.1", port))
    except OSError:
        holder.close()
        return None
    holder.listen()
    return holder


def test_backend_down_fires_and_clears_after_the_restart(observed: Stack) -> None:
    pid = observed.pid_of("backend")
    os.kill(pid, signal.SIGKILL)
    # The restart comes within seconds, sooner than an alert's `for` can be trusted to see:
    # holding the port keeps each new attempt failing until the alert has fired.
    port = observed.ports["BACKEND_PORT"]
    holder = wait_until(lambda: hold_port(port), 10, "the killed backend's port to be free", 0.05)
    try:
        wait_until(lambda: firing(observed, "BackendDown"), 60, "BackendDown to fire", 0.5)
    finally:
        holder.close()
    wait_until(lambda: observed.all_ready(), 60, "the backend to be restarted", 0.5)
    wait_until(lambda: not firing(observed, "BackendDown"), 60, "BackendDown to clear", 0.5)
