"""The framework's floor: baseline_app.py's read of one user, as a bare Quart route.

No hooks, extensions, validation, logging or metrics: what Quart itself costs over the bare ASGI
app, measured in the same run. Served like the baseline: `python bench/quart_app.py`.
"""

import json

import aiomysql
from baseline_app import ONE, as_user, pool_options
from quart import Quart, Response

app = Quart(__name__)
pools: list[aiomysql.Pool] = []


@app.before_serving
async def open_pool() -> None:
    pools.append(await aiomysql.create_pool(**pool_options()))


@app.get("/api/v1/users/<int:user_id>")
async def get_user(user_id: int) -> Response:
    async with pools[0].acquire() as conn, conn.cursor() as cursor:
        await cursor.execute(ONE, (user_id,))
        body = as_user(await cursor.fetchone())
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(payload, content_type="application/json")


if __name__ == "__main__":
    from backend.settings import load_settings
    from hypercorn.run import run
    from servicekit.serving import hypercorn_config

    raise SystemExit(run(hypercorn_config(load_settings(), f"{__file__}:app")))
