"""Versioned SQL migrations: the NNNN_name.sql files beside this module, applied in order.

Applied versions are recorded in `schema_migrations`. A named server lock (GET_LOCK) makes
concurrent runs wait for each other, so running `backend migrate` twice, or from two places at
once, applies each file exactly once. MySQL commits DDL implicitly, so each file is written to
be safe to re-run (CREATE TABLE IF NOT EXISTS, ...).
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import aiomysql
from pymysql.err import MySQLError

logger = logging.getLogger("backend.migrations")

LOCK_TIMEOUT_SECONDS = 60
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_STATEMENT_END = re.compile(r";\s*$", re.MULTILINE)

CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
  version VARCHAR(255) NOT NULL,
  applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str

    def statements(self) -> list[str]:
        text = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        return [part.strip() for part in _STATEMENT_END.split(text) if part.strip()]


def available_migrations() -> list[Migration]:
    folder = resources.files(__name__)
    found = [
        Migration(version=entry.name.removesuffix(".sql"), sql=entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if _FILE_NAME.match(entry.name)
    ]
    return sorted(found, key=lambda migration: migration.version)


def lock_name(database: str) -> str:
    # GET_LOCK names are server-wide (and at most 64 characters): scope it to the database.
    return f"schema_migrations:{database}"[:64]


async def apply_migrations(connection: aiomysql.Connection, database: str) -> list[str]:
    """Apply every pending migration; returns the versions applied by this call."""
    name = lock_name(database)
    async with connection.cursor() as cursor:
        await cursor.execute("SELECT GET_LOCK(%s, %s)", (name, LOCK_TIMEOUT_SECONDS))
        (locked,) = await cursor.fetchone()
        if locked != 1:
            raise MigrationError(
                f"another migration held the lock {name!r} for over {LOCK_TIMEOUT_SECONDS} s"
            )
        try:
            # "already exists" notes from IF NOT EXISTS are expected on every run after the first.
            with contextlib.suppress(MySQLError):
                await cursor.execute("SET SESSION sql_notes = 0")
            await cursor.execute(CREATE_SCHEMA_MIGRATIONS)
            await cursor.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in await cursor.fetchall()}
            applied: list[str] = []
            for migration in available_migrations():
                if migration.version in done:
                    continue
                logger.info("applying migration %s", migration.version)
                for statement in migration.statements():
                    await cursor.execute(statement)
                await cursor.execute(
                    "INSERT INTO schema_migrations (version) VALUES (%s)", (migration.version,)
                )
                applied.append(migration.version)
            return applied
        finally:
            # The lock also ends with the connection; releasing it early lets a waiting run go.
            with contextlib.suppress(MySQLError, OSError):
                await cursor.execute("SELECT RELEASE_LOCK(%s)", (name,))
                await cursor.fetchone()
