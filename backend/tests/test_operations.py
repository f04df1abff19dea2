"""Health, metrics, request ids, the access log, CORS and the API documentation."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from backend.app import create_app
from quart import Quart
from quart.typing import TestClientProtocol as Client
from servicekit.routes import route_template
from testkit.services import BackendProcess


async def test_livez(client: Client) -> None:
    response = await client.get("/livez")

    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


async def test_healthz_reports_the_database_and_pool(client: Client) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    health = await response.get_json()
    assert health["status"] == "ok"
    assert health["database"]["status"] == "ok"
    assert health["database"]["latency_ms"] >= 0
    pool = health["database"]["pool"]
    assert set(pool) == {"size", "free", "in_use", "max"}
    assert pool["max"] == 10
    assert pool["size"] >= 1


async def test_request_id_is_generated_or_taken_from_the_request(client: Client) -> None:
    generated = await client.get("/livez")
    echoed = await client.get("/livez", headers={"X-Request-ID": "abc-123.x:y"})
    unsafe = await client.get("/livez", headers={"X-Request-ID": "bad id\twith spaces"})

    assert len(generated.headers["X-Request-ID"]) == 32
    assert echoed.headers["X-Request-ID"] == "abc-123.x:y"
    assert unsafe.headers["X-Request-ID"] != "bad id\twith spaces"
    missing = await client.get("/nowhere", headers={"X-Request-ID": "on-errors-too"})
    assert missing.headers["X-Request-ID"] == "on-errors-too"


async def test_access_log_record_carries_the_request_id_and_route(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="backend.access"):
        await client.get("/api/v1/users/999999999", headers={"X-Request-ID": "log-me-1"})

    [record] = [r for r in caplog.records if getattr(r, "request_id", None) == "log-me-1"]
    assert record.name == "backend.access"
    assert record.method == "GET"
    assert record.path == "/api/v1/users/999999999"
    assert record.route == "/api/v1/users/{user_id}"
    assert record.status == 404
    assert record.duration_ms >= 0


def test_served_access_log_is_one_json_line_per_request(
    live_backend_process: BackendProcess,
) -> None:
    response = httpx.get(
        f"{live_backend_process.url}/api/v1/users?limit=1",
        headers={"X-Request-ID": "json-line-check"},
    )
    assert response.status_code == 200

    lines = [
        line
        for line in live_backend_process.log_path.read_text().splitlines()
        if "json-line-check" in line
    ]
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["logger"] == "backend.access"
    assert entry["request_id"] == "json-line-check"
    assert entry["method"] == "GET"
    assert entry["route"] == "/api/v1/users"
    assert entry["status"] == 200
    assert entry["level"] == "info"
    assert entry["ts"].endswith("Z")


async def test_metrics_after_some_requests(client: Client, unique: str) -> None:
    created = await client.post(
        "/api/v1/users", json={"username": unique, "full_name": "M", "email": "m@example.com"}
    )
    user_id = (await created.get_json())["id"]
    for _ in range(3):
        await client.get(f"/api/v1/users/{user_id}")
    await client.get("/api/v1/users/999999999")

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = await response.get_data(as_text=True)
    samples = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    ok = 'method="GET",route="/api/v1/users/{user_id}",status="200"'
    assert float(samples[f"backend_http_requests_total{{{ok}}}"]) >= 3
    assert float(samples[f"backend_http_request_duration_seconds_count{{{ok}}}"]) >= 3
    missing = 'method="GET",route="/api/v1/users/{user_id}",status="404"'
    assert float(samples[f"backend_http_requests_total{{{missing}}}"]) >= 1
    # Raw paths never become labels.
    assert f"/api/v1/users/{user_id}" not in text
    assert "backend_http_requests_in_flight" in samples
    assert samples['backend_db_pool_connections{state="in_use"}'] is not None
    assert float(samples['backend_db_pool_connections{state="free"}']) >= 1
    assert float(samples["backend_db_pool_max_connections"]) == 10
    assert any(key.startswith("backend_build_info{") for key in samples)
    assert "backend_db_unavailable_total" in samples


async def test_openapi_describes_the_users_routes(app: Quart, client: Client) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    spec = await response.get_json()
    paths = spec["paths"]
    assert set(paths["/api/v1/users"]) == {"get", "post"}
    assert set(paths["/api/v1/users/{user_id}"]) == {"get", "put", "patch", "delete"}
    assert {"/livez", "/healthz", "/metrics", "/openapi.json", "/docs"}.isdisjoint(paths)
    assert {"name": "users", "description": "The users API."} in spec["tags"]
    # Metrics and logs name a route as the document does (quart-schema spells the paths).
    api_rules = [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]
    assert api_rules
    assert {route_template(rule) for rule in api_rules} <= set(paths)
    create = paths["/api/v1/users"]["post"]
    assert create["tags"] == ["users"]
    assert set(create["responses"]) >= {"201", "400", "409", "413", "415", "422", "503"}
    assert "application/problem+json" in create["responses"]["409"]["content"]
    # Every route that reads a body documents what it answers about the body.
    for method in ("put", "patch"):
        change = paths["/api/v1/users/{user_id}"][method]
        assert set(change["responses"]) >= {"200", "400", "404", "409", "413", "415", "422", "503"}
    assert "content" not in paths["/api/v1/users/{user_id}"]["delete"]["responses"]["204"]
    assert {"UserCreate", "UserUpdate", "User", "UserList", "Problem"} <= set(
        spec["components"]["schemas"]
    )
    legacy = paths["/users/{user_id}"]["get"]
    assert legacy["deprecated"] is True
    assert legacy["tags"] == ["legacy"]


async def test_swagger_ui_page(client: Client) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert "swagger-ui" in page
    assert "/openapi.json" in page


async def test_cors_is_off_by_default(client: Client) -> None:
    response = await client.get("/livez", headers={"Origin": "https://example.com"})

    assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_answers_configured_origins_only(make_settings) -> None:
    app = create_app(make_settings(cors_origins="https://ui.example.com"), configure_logs=False)
    client = app.test_client()

    allowed = await client.options(
        "/api/v1/users",
        headers={"Origin": "https://ui.example.com", "Access-Control-Request-Method": "POST"},
    )
    other = await client.get("/livez", headers={"Origin": "https://evil.example.com"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ui.example.com"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    # A page on that origin may make conditional requests and read the version.
    assert "If-Match" in allowed.headers["Access-Control-Allow-Headers"]
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers
