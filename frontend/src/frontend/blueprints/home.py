"""The home page: what the application is and whether its backend is healthy."""

from __future__ import annotations

from quart import Blueprint, render_template

from frontend.lib.backend_client import BackendUnavailable, InvalidInput, backend

bp = Blueprint("home", __name__)

# The home page is the busiest: its health figures may be this old (the readiness probe,
# /healthz, always asks the backend afresh).
HEALTH_MAX_AGE = 1.0


@bp.get("/")
async def index() -> tuple[str, int, dict[str, str]]:
    health = await backend().health(max_age=HEALTH_MAX_AGE)
    user_count: int | None = None
    if health.ok:
        try:
            user_count = (await backend().list_users(limit=1)).total
        except (BackendUnavailable, InvalidInput):
            user_count = None
    # The page still renders when the backend is down, but as what it is: a 503.
    healthy = health.ok and user_count is not None
    page = await render_template("home/index.html", health=health, user_count=user_count)
    return page, 200 if healthy else 503, {} if healthy else {"Retry-After": "5"}
