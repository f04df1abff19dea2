"""CSRF protection: a random token kept in the signed session cookie, echoed by every form.

A cross-site page can make the browser POST here with the session cookie, but it cannot
read the token, so a POST whose form field does not match the session's token is refused
before any view (and therefore before any backend call) runs.
"""

from __future__ import annotations

import secrets

from quart import abort, request, session

FIELD_NAME = "csrf_token"
_SESSION_KEY = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token() -> str:
    """The session's token, created on first use (templates call this inside each form)."""
    token = session.get(_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


async def verify_csrf_token() -> None:
    """`before_request` hook: answer 400 to an unsafe request without the session's token."""
    if request.method in _SAFE_METHODS or request.routing_exception is not None:
        return  # unknown routes and methods get their own 404/405 page
    expected = session.get(_SESSION_KEY)
    sent = (await request.form).get(FIELD_NAME)
    if not expected or not sent or not secrets.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="The form has expired or did not come from this site.")
