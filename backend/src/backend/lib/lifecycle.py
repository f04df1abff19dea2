"""Per-request bookkeeping: request id, metrics and the JSON access log line."""

from __future__ import annotations

import logging
import time

from quart import Quart, Response, g, request

from backend.lib import metrics
from backend.lib.http import REQUEST_ID_HEADER, assign_request_id

access_logger = logging.getLogger("backend.access")


def register_request_hooks(app: Quart, *, access_log: bool, collect_metrics: bool) -> None:
    @app.before_request
    async def start_request() -> None:
        g.started = time.perf_counter()
        assign_request_id()
        if collect_metrics:
            metrics.IN_FLIGHT.inc()
            g.counted_in_flight = True

    @app.after_request
    async def finish_request(response: Response) -> Response:
        request_id = g.get("request_id") or assign_request_id()
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("started")
        elapsed = 0.0 if started is None else time.perf_counter() - started
        rule = request.url_rule
        route = rule.rule if rule is not None else metrics.UNMATCHED_ROUTE
        if collect_metrics:
            try:
                metrics.observe_request(request.method, route, response.status_code, elapsed)
            except OSError:
                # Metrics are never worth failing a request over (e.g. a metrics directory
                # removed underneath a worker that is shutting down).
                access_logger.warning("could not record request metrics", exc_info=True)
        if access_log:
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 3),
                    "remote_addr": request.remote_addr,
                    "user_agent": request.headers.get("User-Agent", ""),
                },
            )
        return response

    @app.teardown_request
    async def end_request(_error: BaseException | None) -> None:
        # Teardown runs even when the client went away mid-request, so the gauge cannot drift.
        if g.pop("counted_in_flight", False):
            metrics.IN_FLIGHT.dec()
