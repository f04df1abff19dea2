"""Operations endpoints: liveness, readiness and metrics. Kept out of the API documentation."""

from __future__ import annotations

from quart import Blueprint, Response, current_app
from quart_schema import hide

from backend.lib import metrics
from backend.lib.connect import describe_error
from backend.lib.db import get_database
from backend.lib.encoding import json_response
from backend.lib.problems import RETRY_AFTER_SECONDS, ApiProblem, DatabaseUnavailable

ops = Blueprint("ops", __name__)

# A readiness probe must answer quickly even when the database does not.
HEALTH_TIMEOUT_SECONDS = 2.0


@ops.get("/livez")
@hide
async def livez() -> Response:
    """200 while the process runs; never touches the database."""
    return json_response({"status": "ok"})


@ops.get("/healthz")
@hide
async def healthz() -> Response:
    """200 when the database answers SELECT 1 in time, 503 with the reason otherwise."""
    database = get_database()
    timeout = min(database.query_timeout, HEALTH_TIMEOUT_SECONDS)
    try:
        latency = await database.ping(timeout)
    except DatabaseUnavailable as error:
        cause = error.__cause__
        reason = describe_error(cause) if cause is not None else str(error)
        return json_response(
            {
                "status": "unavailable",
                "reason": f"database: {reason}",
                "database": {"status": "unavailable", "pool": database.pool_stats()},
            },
            503,
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return json_response(
        {
            "status": "ok",
            "database": {
                "status": "ok",
                "latency_ms": round(latency * 1000, 3),
                "pool": database.pool_stats(),
            },
        }
    )


@ops.get("/metrics")
@hide
async def metrics_endpoint() -> Response:
    """Prometheus text format, summed over every worker."""
    if not current_app.config["BACKEND_METRICS"]:
        raise ApiProblem(404, "metrics are turned off (BACKEND_METRICS=false)")
    metrics.publish_figures(get_database())
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)
