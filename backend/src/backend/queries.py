"""SQL for the users table, one small function per statement, each taking the connection.

The connection is a `databases` connection. The hot paths (one user by id, a page of users,
creating a user) go straight to its driver connection (`raw_connection`, aiomysql) with a
fixed SQL text: compiling through SQLAlchemy on every call would cost about half the
throughput. They also accept a bare aiomysql connection (from the same pool, or a
benchmark's). Updates and deletes, whose statements vary with the fields sent, use `databases`
itself with named parameters.

The same SQL runs on MySQL 8.4 and MariaDB 10.11.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiomysql
from databases.core import Connection

# The one list of the users table's columns: every statement below is built from it, and rows
# become dicts keyed by these names. FIELDS are the ones a client writes.
FIELDS = ("username", "full_name", "email")
COLUMNS = ("id", *FIELDS, "created_at", "updated_at")
_TIMESTAMPS = frozenset({"created_at", "updated_at"})
_SELECTED = ", ".join(COLUMNS)

_SELECT_USER = f"SELECT {_SELECTED} FROM users WHERE id = %s"  # noqa: S608 - fixed text
# The total comes with the page, in one statement, counted the cheaper way for the filter at
# hand (bench/README.md explains the choice). {where} is filled from fixed condition texts only.
_LIST_USERS_SEARCH = (
    f"SELECT {_SELECTED}, COUNT(*) OVER ()"  # noqa: S608 - fixed text
    " FROM users{where} ORDER BY id LIMIT %s OFFSET %s"
)
_LIST_USERS = (
    f"SELECT {_SELECTED}, (SELECT COUNT(*) FROM users{{where}})"  # noqa: S608 - fixed text
    " FROM users{where} ORDER BY id LIMIT %s OFFSET %s"
)
_COUNT_USERS = "SELECT COUNT(*) FROM users{where}"
_INSERT_USER = (
    f"INSERT INTO users ({', '.join(FIELDS)})"  # noqa: S608 - fixed text
    f" VALUES ({', '.join('%s' for _field in FIELDS)})"
)
# '!' escapes LIKE wildcards; a backslash would depend on the NO_BACKSLASH_ESCAPES sql_mode.
_LIKE_ESCAPE = str.maketrans({"!": "!!", "%": "!%", "_": "!_"})
# What `q` matches, as the API documents it.
_SEARCHED = ("username", "full_name", "email")
_SEARCH = "(" + " OR ".join(f"{column} LIKE %s ESCAPE '!'" for column in _SEARCHED) + ")"


def _driver(conn: Connection | aiomysql.Connection) -> aiomysql.Connection:
    return conn.raw_connection if isinstance(conn, Connection) else conn


def format_timestamp(value: datetime) -> str:
    """DATETIME(6) values are UTC; always six fractional digits and a Z."""
    return value.isoformat(timespec="microseconds") + "Z"


def user_from_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """A row of COLUMNS (a count after them is left out) as a dict by column name."""
    return {
        name: format_timestamp(value) if name in _TIMESTAMPS else value
        for name, value in zip(COLUMNS, row, strict=False)
    }


async def select_user(
    conn: Connection | aiomysql.Connection, user_id: int
) -> dict[str, Any] | None:
    async with _driver(conn).cursor() as cursor:
        await cursor.execute(_SELECT_USER, (user_id,))
        row = await cursor.fetchone()
    return None if row is None else user_from_row(row)


async def list_users(
    conn: Connection | aiomysql.Connection,
    *,
    username: str | None = None,
    search: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of users ordered by id, and how many users match in total."""
    conditions: list[str] = []
    params: list[Any] = []
    if username:
        # The column's case-insensitive collation makes this the case-insensitive match.
        conditions.append("username = %s")
        params.append(username)
    if search:
        pattern = f"%{search.translate(_LIKE_ESCAPE)}%"
        conditions.append(_SEARCH)
        params.extend([pattern] * len(_SEARCHED))
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""

    if search:
        statement, values = _LIST_USERS_SEARCH.format(where=where), (*params, limit, offset)
    else:
        statement, values = _LIST_USERS.format(where=where), (*params, *params, limit, offset)
    async with _driver(conn).cursor() as cursor:
        await cursor.execute(statement, values)
        rows = await cursor.fetchall()
        if rows:
            return [user_from_row(row) for row in rows], rows[0][len(COLUMNS)]
        if offset == 0:
            return [], 0
        # A page past the end has no row to carry the total.
        await cursor.execute(_COUNT_USERS.format(where=where), params)
        (total,) = await cursor.fetchone()
    return [], total


async def insert_user(conn: Connection | aiomysql.Connection, values: dict[str, Any]) -> int:
    """Insert a user's FIELDS and return its id; a taken username raises IntegrityError (1062)."""
    async with _driver(conn).cursor() as cursor:
        await cursor.execute(_INSERT_USER, tuple(values[field] for field in FIELDS))
        return cursor.lastrowid


def _version_condition(versions: list[datetime] | None) -> tuple[str, dict[str, Any]]:
    """The `If-Match` part of a WHERE clause: the check and the write are one statement."""
    if versions is None:
        return "", {}
    if not versions:
        return " AND FALSE", {}
    names = [f"version_{index}" for index in range(len(versions))]
    condition = f" AND updated_at IN ({', '.join(f':{name}' for name in names)})"
    return condition, dict(zip(names, versions, strict=True))


async def update_user(
    conn: Connection,
    user_id: int,
    changes: dict[str, Any],
    versions: list[datetime] | None = None,
) -> bool:
    """Apply the given column values; False when no user has this id (and, when `versions`
    is given, one of those `updated_at` values).

    `updated_at` follows by itself (ON UPDATE CURRENT_TIMESTAMP), only when a value changed.
    """
    columns = [column for column in FIELDS if column in changes]
    if not columns:
        user = await select_user(conn, user_id)
        if user is None or versions is None:
            return user is not None
        return any(format_timestamp(version) == user["updated_at"] for version in versions)
    assignments = ", ".join(f"{column} = :{column}" for column in columns)
    condition, values = _version_condition(versions)
    matched = await conn.execute(
        f"UPDATE users SET {assignments} WHERE id = :id{condition}",  # noqa: S608 - fixed text
        {**{column: changes[column] for column in columns}, "id": user_id, **values},
    )
    return matched > 0


async def delete_user(
    conn: Connection, user_id: int, versions: list[datetime] | None = None
) -> bool:
    condition, values = _version_condition(versions)
    deleted = await conn.execute(
        f"DELETE FROM users WHERE id = :id{condition}",  # noqa: S608 - fixed text
        {"id": user_id, **values},
    )
    return deleted > 0
