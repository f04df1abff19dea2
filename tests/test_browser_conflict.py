"""Two people edit the same user in two headless Chromium sessions: the second save is not
allowed to overwrite the first one unseen (If-Match -> 412 from the real backend)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from testkit.services import FrontendProcess, start_frontend

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect


@pytest.fixture
def served_frontend(live_backend: str, tmp_path: Path) -> Iterator[FrontendProcess]:
    served = start_frontend(live_backend, tmp_path)
    yield served
    assert served.stop() == 0


def test_the_second_save_shows_the_first_and_saves_only_on_purpose(
    live_backend: str, served_frontend: FrontendProcess, chromium, empty_users_table
) -> None:
    created = httpx.post(
        f"{live_backend}/api/v1/users",
        json={"username": "twins", "full_name": "Tia Twin", "email": "tia@example.com"},
    )
    assert created.status_code == 201
    user_id = created.json()["id"]
    edit = f"/users/{user_id}/edit"
    first, second = (
        chromium.new_context(java_script_enabled=False, base_url=served_frontend.url)
        for _ in range(2)
    )
    page_a, page_b = first.new_page(), second.new_page()
    page_a.goto(edit)
    page_b.goto(edit)

    page_a.get_by_label("Full name").fill("Tia First")
    page_a.get_by_role("button", name="Save changes").click()
    expect(page_a.get_by_role("status")).to_have_text("User “twins” was updated.")

    page_b.get_by_label("Email address").fill("tia.second@example.com")
    page_b.get_by_role("button", name="Save changes").click()

    expect(page_b.get_by_role("alert")).to_contain_text("Someone else changed this user")
    expect(page_b.locator("#full_name-current")).to_contain_text("Tia First")
    expect(page_b.get_by_label("Email address")).to_have_value("tia.second@example.com")
    expect(page_b.get_by_label("Full name")).to_have_value("Tia Twin")
    stored = httpx.get(f"{live_backend}/api/v1/users/{user_id}").json()
    assert (stored["full_name"], stored["email"]) == ("Tia First", "tia@example.com")

    # The person keeps the first one's name this time, and saves again on purpose.
    page_b.get_by_label("Full name").fill("Tia First")
    page_b.get_by_role("button", name="Save my values").click()
    expect(page_b.get_by_role("status")).to_have_text("User “twins” was updated.")
    stored = httpx.get(f"{live_backend}/api/v1/users/{user_id}").json()
    assert (stored["full_name"], stored["email"]) == ("Tia First", "tia.second@example.com")
    first.close()
    second.close()
