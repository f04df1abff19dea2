"""The pages' floor: the frontend's list template rendered by a bare Quart route.

The same `users/list.html` (and `base.html`, static files, filters) from a page of 20 users held
in memory: no backend call, hooks, CSRF, session writes, logging or metrics. What rendering a
page costs in Quart, measured in the same run as the frontend's `GET /users`. Served with the
frontend's Hypercorn configuration: `python bench/quart_page_app.py` (FRONTEND_* variables).
"""

from datetime import UTC, datetime
from pathlib import Path

from frontend.app import format_datetime
from frontend.lib.backend_answers import UserPage
from quart import Blueprint, Quart, render_template

import frontend

PACKAGE = Path(frontend.__file__).parent
PAGE = UserPage(
    items=[
        {
            "id": n,
            "username": f"user{n:04d}",
            "full_name": f"Seeded User {n}",
            "email": f"user{n:04d}@example.com",
            "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        }
        for n in range(1, 21)
    ],
    total=1000,
    limit=20,
    offset=0,
)

app = Quart(__name__, template_folder=PACKAGE / "templates", static_folder=PACKAGE / "static")
app.config["SECRET_KEY"] = "bench-only"  # noqa: S105 - get_flashed_messages reads the (empty) session
app.jinja_env.filters["datetime"] = format_datetime
app.jinja_env.globals.update(csrf_token=str, request_id=str, trace_id=str)
home = Blueprint("home", __name__)
users = Blueprint("users", __name__, url_prefix="/users")


@users.get("")
async def list_users() -> str:
    return await render_template(
        "users/list.html", q="", page=1, last_page=50, result=PAGE, error=None
    )


@home.get("/")
async def index() -> str:
    return "home"


# The endpoints the templates link to.
users.add_url_rule("/new", "new_user", index)
for endpoint in ("show_user", "edit_user", "confirm_delete"):
    users.add_url_rule(f"/{endpoint}/<int:user_id>", endpoint, index)
app.register_blueprint(home)
app.register_blueprint(users)
# As servicekit.app.ServiceQuart: no Flask context processor run in a thread per render.
for processors in app.template_context_processors.values():
    processors[:] = [found for found in processors if found.__module__ != "flask.templating"]


if __name__ == "__main__":
    from frontend.settings import Settings
    from hypercorn.run import run
    from servicekit.commands import load_settings
    from servicekit.serving import hypercorn_config

    raise SystemExit(run(hypercorn_config(load_settings(Settings), f"{__file__}:app")))
