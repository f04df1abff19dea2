"""The yardstick: the backend's reads and its insert as a bare ASGI app over a raw aiomysql pool.

No framework, validation, logging or metrics: only what Hypercorn, aiomysql and the database
allow. `python bench/baseline_app.py` serves it with the backend's own Hypercorn configuration
(the same BACKEND_* and DB_* variables as `backend serve`).
"""

import json
import os
from urllib.parse import parse_qs

import aiomysql

COLUMNS = ("id", "username", "full_name", "email", "created_at", "updated_at")
ONE = f"SELECT {', '.join(COLUMNS)} FROM users WHERE id = %s"  # noqa: S608 - fixed text
PAGE = f"SELECT {', '.join(COLUMNS)}, (SELECT COUNT(*) FROM users) FROM users ORDER BY id LIMIT %s"  # noqa: S608
INSERT = "INSERT INTO users (username, full_name, email) VALUES (%s, %s, %s)"
pools: list[aiomysql.Pool] = []


def as_user(row: tuple) -> dict:
    stamps = [value.isoformat(timespec="microseconds") + "Z" for value in row[4:6]]
    return dict(zip(COLUMNS, [*row[:4], *stamps], strict=True))


def pool_options() -> dict:
    env = os.environ.get
    return {
        "host": env("DB_HOST", "127.0.0.1"),
        "port": int(env("DB_PORT", "3306")),
        "user": env("DB_USER"),
        "password": env("DB_PASSWORD"),
        "db": env("DB_NAME", "users"),
        "maxsize": int(env("DB_POOL_SIZE", "10")),
        "autocommit": True,
        "charset": "utf8mb4",
        "init_command": "SET time_zone = '+00:00'",
    }


async def read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def app(scope: dict, receive, send) -> None:
    if scope["type"] == "lifespan":
        await receive()  # startup
        pools.append(await aiomysql.create_pool(**pool_options()))
        await send({"type": "lifespan.startup.complete"})
        await receive()  # shutdown
        pools[0].close()
        await pools[0].wait_closed()
        await send({"type": "lifespan.shutdown.complete"})
        return
    status = 200
    async with pools[0].acquire() as conn, conn.cursor() as cursor:
        if scope["method"] == "POST":
            # As the backend: insert, then read the new row back for the answer.
            created = json.loads(await read_body(receive))
            await cursor.execute(
                INSERT, (created["username"], created["full_name"], created["email"])
            )
            await cursor.execute(ONE, (cursor.lastrowid,))
            body, status = as_user(await cursor.fetchone()), 201
        elif scope["path"] == "/api/v1/users":
            limit = int(parse_qs(scope["query_string"].decode()).get("limit", ["20"])[0])
            await cursor.execute(PAGE, (limit,))
            rows = await cursor.fetchall()
            items = [as_user(row) for row in rows]
            body = {"items": items, "total": rows[0][6] if rows else 0, "limit": limit, "offset": 0}
        else:
            await cursor.execute(ONE, (int(scope["path"].rsplit("/", 1)[1]),))
            body = as_user(await cursor.fetchone())
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


if __name__ == "__main__":
    from backend.settings import load_settings
    from hypercorn.run import run
    from servicekit.serving import hypercorn_config

    raise SystemExit(run(hypercorn_config(load_settings(), f"{__file__}:app")))
