"""Per-request bookkeeping: request id, metrics and the JSON access log line.

It wraps Quart's whole handling of each request (`handle_request`, which also turns errors into
responses) instead of living in before/after/teardown hooks: dispatching three hooks and going
through the request context for every attribute cost about as much as the bookkeeping itself,
on every request. The duration measured this way also covers the framework's own share.
"""

from __future__ import annotations

import logging
import time

from quart import Quart, Request
from quart.typing import ResponseTypes

from backend.lib import metrics
from backend.lib.http import REQUEST_ID_HEADER, request_id_for

access_logger = logging.getLogger("backend.access")


class TrackedQuart(Quart):
    """A Quart app that gives every request an id, and measures and logs it."""

    access_log = True
    collect_metrics = True

    async def handle_request(self, request: Request) -> ResponseTypes:
        started = time.perf_counter()
        request_id = request_id_for(request)
        if self.collect_metrics:
            metrics.request_started()
        try:
            # Runs until the response is complete, or is cancelled if the client goes away:
            # either way the in-flight count comes down again.
            response = await super().handle_request(request)
        finally:
            if self.collect_metrics:
                metrics.request_finished()
        elapsed = time.perf_counter() - started
        response.headers[REQUEST_ID_HEADER] = request_id
        rule = request.url_rule
        route = rule.rule if rule is not None else metrics.UNMATCHED_ROUTE
        method, status = request.method, response.status_code
        if self.collect_metrics:
            try:
                metrics.observe_request(method, route, status, elapsed)
            except OSError:
                # Metrics are never worth failing a request over (e.g. a metrics directory
                # removed underneath a worker that is shutting down).
                access_logger.warning("could not record request metrics", exc_info=True)
        if self.access_log and access_logger.isEnabledFor(logging.INFO):
            path = request.path
            access_logger.info(
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                    "remote_addr": request.remote_addr,
                    "user_agent": request.headers.get("User-Agent", ""),
                },
            )
        return response
