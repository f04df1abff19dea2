"""One real browser session: headless Chromium, with JavaScript turned off, against the
served frontend and the real backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit.services import FrontendProcess, start_frontend

playwright_sync = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(
    os.environ.get("TEST_ARTIFACTS_DIR", Path(__file__).resolve().parents[1] / "test-artifacts")
)
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def served_frontend(live_backend: str, tmp_path: Path) -> Iterator[FrontendProcess]:
    served = start_frontend(live_backend, tmp_path)
    yield served
    assert served.stop() == 0


def test_create_a_user_in_the_browser(served_frontend, chromium, empty_users_table):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in VIEWPORTS.items():
        username = f"ana.{name}"
        # JavaScript is off: every page must work without it.
        context = chromium.new_context(
            viewport=viewport, java_script_enabled=False, base_url=served_frontend.url
        )
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message, problems=problems: problems.append(message.text))

        page.goto("/users/new")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Full name").fill("Ana <Lima> Sousa")
        page.get_by_label("Email address").fill(f"{username}@example.com")
        page.get_by_role("button", name="Create user").click()

        page.wait_for_url("**/users/*")
        flash = page.get_by_role("status")
        playwright_sync.expect(flash).to_have_text(f"User “{username}” was created.")
        playwright_sync.expect(page.get_by_role("heading", level=1)).to_have_text(
            "Ana <Lima> Sousa"
        )
        page.screenshot(path=ARTIFACTS / f"user-created-{name}.png", full_page=True)

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
        page.wait_for_url("**/users")
        row = page.get_by_role("row").filter(has_text=username)
        playwright_sync.expect(row).to_contain_text("Ana <Lima> Sousa")
        playwright_sync.expect(row).to_contain_text(f"{username}@example.com")
        page.screenshot(path=ARTIFACTS / f"users-list-{name}.png", full_page=True)

        page.goto("/users/new")
        page.get_by_label("Username").fill(username.upper())
        page.get_by_label("Full name").fill("Someone Else")
        page.get_by_label("Email address").fill("else@example.com")
        page.get_by_role("button", name="Create user").click()
        playwright_sync.expect(page.locator("#username-error")).to_contain_text(
            "username is already taken"
        )
        page.screenshot(path=ARTIFACTS / f"form-error-{name}.png", full_page=True)

        page.goto("/")
        playwright_sync.expect(page.get_by_text("Operational")).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"home-{name}.png", full_page=True)

        assert not [text for text in problems if "Content Security Policy" in text], problems
        context.close()

    assert (ARTIFACTS / "users-list-desktop.png").stat().st_size > 0
