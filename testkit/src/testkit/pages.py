"""Reading the frontend's pages through a Quart test client, as a browser would."""

from __future__ import annotations

import re
from typing import Any

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_in(html: str) -> str:
    """The CSRF token of the (first) form in a page."""
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


NEW_USER = {"username": "ana.lima", "full_name": "Ana Lima", "email": "ana@example.com"}


async def page(client: Any, path: str) -> tuple[int, str]:
    """GET a page: its status and HTML."""
    response = await client.get(path)
    return response.status_code, await response.get_data(as_text=True)


async def submit(client: Any, path: str, form: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    """Load the form page for its CSRF token, then post `form` like a browser."""
    _, html = await page(client, path)
    response = await client.post(path, form={**form, "csrf_token": csrf_token_in(html)})
    return response.status_code, await response.get_data(as_text=True), dict(response.headers)


def field_block(html: str, name: str) -> str:
    """The markup of one form field (label, hint, error and input)."""
    match = re.search(
        rf'<div class="field[^"]*">\s*<label for="{name}">.*?</div>', html, flags=re.DOTALL
    )
    assert match, f"no field {name}"
    return match.group(0)
