"""The connection pool: its lifecycle, time limits and what an outage looks like to the routes.

`databases` owns the pool (aiomysql underneath). The pool opens connections on demand
(minsize=0), so the backend starts while the database is down and reconnects by itself.
Every use of a connection is bounded by DB_QUERY_TIMEOUT; a connection that failed in any way
that may leave it half-used is closed instead of going back to the pool.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiomysql
import databases
from databases.core import Connection
from pymysql.err import (
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
)
from quart import current_app

from backend.lib import metrics
from backend.lib.connect import connect_kwargs, describe_error
from backend.lib.problems import ApiProblem, DatabaseUnavailable
from backend.settings import Settings
from servicekit import tracing

logger = logging.getLogger("backend.db")

POOL_RECYCLE_SECONDS = 3600
WARNING_INTERVAL_SECONDS = 10.0

# Errors about one statement (or the request), after which the connection itself stays usable.
_STATEMENT_ERRORS = (IntegrityError, ProgrammingError, DataError, ApiProblem)
# Errors meaning the server is gone, unreachable or not answering.
_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, InternalError, OSError, EOFError)
ER_NO_SUCH_TABLE = 1146


class Database:
    """The application's pool plus the rules for using it."""

    def __init__(self, settings: Settings) -> None:
        location = settings.database
        self.location = location
        self.query_timeout = settings.db_query_timeout
        self.pool_size = settings.db_pool_size
        # While the database is out, every request fails the same way: log the first failure
        # and then at most one line per WARNING_INTERVAL_SECONDS, and log the recovery.
        self._outage_started: float | None = None
        self._last_warning = 0.0
        self._database = databases.Database(
            location.url,
            minsize=0,
            maxsize=settings.db_pool_size,
            pool_recycle=POOL_RECYCLE_SECONDS,
            **connect_kwargs(settings),
        )

    async def connect(self) -> None:
        # With minsize=0 this creates the pool without opening a connection: never fails for
        # a server that is down.
        await self._database.connect()

    async def disconnect(self) -> None:
        await self._database.disconnect()

    @property
    def _pool(self) -> aiomysql.Pool | None:
        # `databases` keeps the aiomysql pool private; it is only read for the pool figures.
        return getattr(self._database._backend, "_pool", None)

    def pool_stats(self) -> dict[str, int]:
        pool = self._pool
        if pool is None:
            return {"size": 0, "free": 0, "in_use": 0, "max": self.pool_size}
        return {
            "size": pool.size,
            "free": pool.freesize,
            "in_use": pool.size - pool.freesize,
            "max": pool.maxsize,
        }

    @asynccontextmanager
    async def connection(self, limit: float | None = None) -> AsyncIterator[Connection]:
        """A pooled connection for one piece of work, bounded in time.

        Raises DatabaseUnavailable (503) when the server is down, unreachable, slow, or the
        schema is missing. Statement errors (duplicate key, ...) pass through unchanged.
        """
        limit = self.query_timeout if limit is None else limit
        started = time.perf_counter()
        try:
            async with asyncio.timeout(limit), self._database.connection() as connection:
                if self._outage_started is not None:
                    self._recovered()
                try:
                    yield connection
                except BaseException as error:
                    if not isinstance(error, _STATEMENT_ERRORS):
                        _discard(connection)
                    raise
                metrics.DB_WORK_DURATION.observe(time.perf_counter() - started)
        except TimeoutError as error:
            self._unavailable(f"no answer within {limit:g} s", error)
            raise DatabaseUnavailable(
                f"the database did not answer within {limit:g} s; try again shortly"
            ) from error
        except ProgrammingError as error:
            if error.args and error.args[0] == ER_NO_SUCH_TABLE:
                self._unavailable(
                    f"schema missing, run `backend migrate`: {describe_error(error)}", error
                )
                raise DatabaseUnavailable(
                    "the database schema is not in place yet; run `backend migrate`"
                ) from error
            raise
        except _UNAVAILABLE_ERRORS as error:
            self._unavailable(describe_error(error), error)
            raise DatabaseUnavailable(
                "the database is not reachable right now; try again shortly"
            ) from error

    def _unavailable(self, reason: str, error: BaseException) -> None:
        # The request's span says why it failed, every time; the log only now and then.
        tracing.mark_current_span_failed(f"database unavailable: {reason}", error)
        now = time.monotonic()
        if self._outage_started is None:
            self._outage_started = now
        elif now - self._last_warning < WARNING_INTERVAL_SECONDS:
            return
        self._last_warning = now
        logger.warning("database unavailable: %s", reason, extra={"database": str(self.location)})

    def _recovered(self) -> None:
        assert self._outage_started is not None
        seconds = time.monotonic() - self._outage_started
        self._outage_started = None
        logger.info(
            "database reachable again after %.1f s", seconds, extra={"database": str(self.location)}
        )

    async def ping(self, limit: float) -> float:
        """Run SELECT 1 within `limit` seconds and return how long it took."""
        started = time.perf_counter()
        async with (
            self.connection(limit) as connection,
            connection.raw_connection.cursor() as cursor,
        ):
            await cursor.execute("SELECT 1")
            await cursor.fetchone()
        return time.perf_counter() - started


def get_database() -> Database:
    """The pool of the app serving the current request."""
    return current_app.extensions["database"]


def _discard(connection: Connection) -> None:
    """Close the driver connection so the pool drops it instead of reusing a broken one."""
    try:
        raw = connection.raw_connection
    except AssertionError:  # never acquired
        return
    if raw is not None and not raw.closed:
        raw.close()
