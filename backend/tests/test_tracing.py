"""The backend's spans, in memory: one per request, one per SQL statement, never a value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from backend.app import create_app
from backend.lib.statement_spans import describe_statement
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from quart.typing import TestClientProtocol as Client
from testkit.network import free_port

from servicekit import tracing

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.start_tracing("backend", exporter=exporter)
    yield exporter
    tracing.stop_tracing()


async def created_user(client: Client, username: str) -> int:
    created = await client.post(
        "/api/v1/users", json={"username": username, "full_name": "Ada L", "email": "a@x.io"}
    )
    return (await created.get_json())["id"]


@pytest.mark.parametrize(
    ("statement", "described"),
    [
        ("SELECT id, username FROM users WHERE id = %s", ("SELECT", "users")),
        ("select 1", ("SELECT", None)),
        ("INSERT INTO users (username) VALUES (%(username)s)", ("INSERT", "users")),
        ("UPDATE users SET email = %(email)s WHERE id = %(id)s", ("UPDATE", "users")),
        ("DELETE FROM users WHERE id = %(id)s", ("DELETE", "users")),
        ("SELECT a, (SELECT COUNT(*) FROM users) FROM users LIMIT 2", ("SELECT", "users")),
        ("CREATE TABLE IF NOT EXISTS `schema_migrations` (v INT)", ("CREATE", "schema_migrations")),
    ],
)
def test_statements_are_described_by_operation_and_table(statement, described) -> None:
    assert describe_statement(statement) == described


async def test_a_user_read_is_a_server_span_over_one_statement_span(
    client: Client, spans: InMemorySpanExporter, unique: str
) -> None:
    user_id = await created_user(client, unique)
    spans.clear()
    response = await client.get(
        f"/api/v1/users/{user_id}",
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "X-Request-ID": "read-1"},
    )
    assert response.status_code == 200
    statement, server = spans.get_finished_spans()
    assert server.name == "GET /api/v1/users/{user_id}"
    assert server.kind is SpanKind.SERVER
    assert format(server.context.trace_id, "032x") == TRACE_ID  # the caller's trace
    assert server.attributes["request.id"] == "read-1"
    assert statement.name == "SELECT users"
    assert statement.kind is SpanKind.CLIENT
    assert statement.parent.span_id == server.context.span_id
    attributes = dict(statement.attributes)
    assert attributes["db.system.name"] in ("mysql", "mariadb")
    assert (attributes["db.operation.name"], attributes["db.collection.name"]) == (
        "SELECT",
        "users",
    )
    assert attributes["db.namespace"] == client.app.config["SETTINGS"].db_name
    # These and nothing else: never the statement's text or values.
    assert set(attributes) == {
        "db.system.name",
        "db.operation.name",
        "db.collection.name",
        "db.namespace",
        "server.address",
        "server.port",
    }


async def test_a_write_is_named_after_its_statement_and_no_value_is_recorded(
    client: Client, spans: InMemorySpanExporter, unique: str
) -> None:
    response = await client.post(
        "/api/v1/users", json={"username": unique, "full_name": "Secret Name", "email": "s@x.io"}
    )
    assert response.status_code == 201
    names = [span.name for span in spans.get_finished_spans()]
    assert names[-1] == "POST /api/v1/users"
    assert "INSERT users" in names
    recorded = str([dict(span.attributes) for span in spans.get_finished_spans()])
    assert unique not in recorded
    assert "Secret Name" not in recorded


async def test_with_the_database_down_the_server_span_says_why(
    make_settings, spans: InMemorySpanExporter
) -> None:
    app = create_app(make_settings(db_port=free_port(), db_connect_timeout=1), configure_logs=False)
    async with app.test_app():
        response = await app.test_client().get("/api/v1/users/1")
    assert response.status_code == 503
    [server] = [span for span in spans.get_finished_spans() if span.kind is SpanKind.SERVER]
    assert server.status.status_code is StatusCode.ERROR
    assert server.status.description.startswith("database unavailable: (2003)")
    assert server.attributes["error.type"] == "OperationalError"


async def test_a_request_whose_trace_is_not_sampled_records_no_span(
    client: Client, spans: InMemorySpanExporter, unique: str
) -> None:
    user_id = await created_user(client, unique)
    spans.clear()
    # Flags 00: the caller did not sample this trace; the default sampler follows its parent.
    response = await client.get(
        f"/api/v1/users/{user_id}", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"}
    )
    assert response.status_code == 200
    assert (await response.get_json())["username"] == unique
    assert spans.get_finished_spans() == ()
