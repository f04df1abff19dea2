"""Connecting to MySQL/MariaDB: the options every connection uses, and one connection.

Kept apart from the pool (backend.lib.db, which brings in `databases` and Quart) so that
`backend migrate` starts quickly: it runs on every start of the stack, before the backend.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiomysql
from pymysql.constants import CLIENT
from pymysql.err import MySQLError

from backend.lib.statement_spans import TracedCursor
from backend.settings import Settings

# Server-maintained DATETIME values (DEFAULT / ON UPDATE CURRENT_TIMESTAMP) follow the session
# time zone, so every connection runs in UTC whatever the server's own zone is.
SESSION_INIT = "SET time_zone = '+00:00'"


def connect_kwargs(settings: Settings) -> dict[str, Any]:
    """aiomysql connection options shared by the pool and the migration runner."""
    return {
        "connect_timeout": settings.db_connect_timeout,
        "init_command": SESSION_INIT,
        "charset": "utf8mb4",
        # UPDATE reports matched rows, not changed rows, so "no such user" is told apart from
        # "nothing to change" without another query.
        "client_flag": CLIENT.FOUND_ROWS,
        # Every statement a span when tracing is on (backend.lib.statement_spans).
        "cursorclass": TracedCursor,
    }


def describe_error(error: BaseException) -> str:
    if isinstance(error, MySQLError) and len(error.args) >= 2:
        return f"({error.args[0]}) {error.args[1]}"
    if isinstance(error, TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__


async def open_connection(settings: Settings) -> aiomysql.Connection:
    """One connection outside any pool, for the migration runner."""
    location = settings.database
    return await asyncio.wait_for(
        aiomysql.connect(
            host=location.host,
            port=location.port,
            user=location.user,
            password=location.password,
            db=location.name,
            autocommit=True,
            **connect_kwargs(settings),
        ),
        timeout=settings.db_connect_timeout + settings.db_query_timeout,
    )
