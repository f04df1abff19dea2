"""No page of either service loads anything from outside the stack: headless Chromium with
every request to a host other than 127.0.0.1 blocked still renders the API documentation
(Swagger UI from the swagger-ui-bundle package) and the frontend's pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from testkit.services import FrontendProcess, start_frontend

playwright_sync = pytest.importorskip("playwright.sync_api")

FRONTEND_PAGES = ["/", "/users", "/users/new"]


@pytest.fixture
def served_frontend(live_backend: str, tmp_path: Path) -> Iterator[FrontendProcess]:
    served = start_frontend(live_backend, tmp_path)
    yield served
    assert served.stop() == 0


def offline_context(chromium, blocked: list[str]):
    """A browser context that refuses every request not to 127.0.0.1, noting each one."""
    context = chromium.new_context()

    def route(request_route) -> None:
        url = request_route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    context.route("**/*", route)
    return context


def test_the_api_documentation_renders_offline(live_backend: str, chromium) -> None:
    blocked: list[str] = []
    context = offline_context(chromium, blocked)
    page = context.new_page()

    page.goto(f"{live_backend}/docs")

    operations = page.locator(".opblock")
    playwright_sync.expect(operations.first).to_be_visible(timeout=15_000)
    playwright_sync.expect(page.get_by_text("Users API").first).to_be_visible()
    summaries = page.locator(".opblock-summary-description").all_inner_texts()
    assert "Get one user" in summaries
    assert operations.count() >= 12
    assert blocked == []
    context.close()


def test_the_frontend_pages_load_nothing_from_outside(
    served_frontend: FrontendProcess, chromium
) -> None:
    blocked: list[str] = []
    context = offline_context(chromium, blocked)
    page = context.new_page()

    for path in FRONTEND_PAGES:
        response = page.goto(f"{served_frontend.url}{path}")
        assert response is not None
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")

    assert blocked == []
    context.close()
