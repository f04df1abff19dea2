"""One span per SQL statement, from the cursor every backend connection uses.

Every statement, through `databases` or straight on the driver connection (backend.queries),
runs in `aiomysql.Cursor.execute`, which also reads the whole result: the pool and the
migration runner create their connections with `cursorclass=TracedCursor` (backend.lib.connect),
so this is the one place a statement is timed. No aiomysql instrumentation exists upstream.

A span is named `SELECT users` and says `db.system.name` (mysql or mariadb),
`db.operation.name`, `db.collection.name` and `db.namespace`; never the statement's values.
With tracing off (servicekit.tracing.tracer() is None) a statement costs one check; inside a
request whose trace is not sampled (OTEL_TRACES_SAMPLER=parentbased_traceidratio) no span is
started either: a statement's span would follow its request's decision and never be recorded.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import aiomysql
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from servicekit import tracing

# The table a statement works on: the first one it names.
_TABLE = re.compile(
    r"\b(?:FROM|INTO|UPDATE|TABLE(?:\s+IF(?:\s+NOT)?\s+EXISTS)?)\s+`?(\w+)", re.IGNORECASE
)


@functools.lru_cache(maxsize=256)
def describe_statement(statement: str) -> tuple[str, str | None]:
    """(operation, table) of an SQL text, e.g. ('SELECT', 'users'); table None if none."""
    words = statement.split(None, 1)
    operation = words[0].upper() if words else "QUERY"
    table = _TABLE.search(statement)
    return operation, table[1] if table else None


def database_system(connection: aiomysql.Connection) -> str:
    """`db.system.name` of the server this connection talks to."""
    return "mariadb" if "mariadb" in (connection.get_server_info() or "").lower() else "mysql"


def _inside_unsampled_span() -> bool:
    span = trace.get_current_span()
    return span.get_span_context().is_valid and not span.is_recording()


class TracedCursor(aiomysql.Cursor):
    async def execute(self, query: str, args: Any = None) -> int:
        active = tracing.tracer()
        if active is None or _inside_unsampled_span():
            return await super().execute(query, args)
        operation, table = describe_statement(query)
        connection = self.connection
        attributes = {
            "db.system.name": database_system(connection),
            "db.operation.name": operation,
            "db.namespace": connection.db or "",
            "server.address": connection.host,
            "server.port": connection.port,
        }
        if table:
            attributes["db.collection.name"] = table
        name = f"{operation} {table}" if table else operation
        with active.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes):
            return await super().execute(query, args)
