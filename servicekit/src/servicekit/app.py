"""The Quart app both services build on: request ids, metrics and the access log, per request.

The bookkeeping wraps Quart's whole handling of each request (`handle_request`, which also
turns errors into responses) rather than hooks: it is cheaper (bench/README.md) and the
duration covers the framework's share too.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Protocol

from flask.templating import _default_template_ctx_processor as flask_context_processor
from opentelemetry.trace import Span
from quart import Blueprint, Quart, Request
from quart.typing import ResponseTypes

from servicekit import request_id as request_ids
from servicekit import tracing
from servicekit.routes import UNMATCHED_ROUTE, route_template
from servicekit.workers import tie_worker_to_master


class RequestMetrics(Protocol):
    """What a service measures of each request (a module with these functions will do)."""

    def request_started(self) -> None: ...

    def request_finished(self) -> None: ...

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None: ...


class ServiceQuart(Quart):
    """A Quart app that gives every request an id, measures it and logs one line for it.

    The access line: `{"message": "GET /users/7 200", "request_id", "method", "path", "route",
    "status", "duration_ms", "remote_addr", "user_agent"}` on the `<service>.access` logger,
    with `trace_id` and `span_id` when tracing is on (servicekit.tracing): then each request
    is also a server span, current while it is answered and logged.
    Each worker process also leaves shutting down to Hypercorn's master (servicekit.workers)
    and starts its own tracing SDK, after the fork.
    """

    access_logger = logging.getLogger("servicekit.access")
    access_log = True
    request_metrics: RequestMetrics | None = None

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.before_serving(_tie_worker_to_master)

    def track_requests(
        self, service: str, *, access_log: bool, metrics: RequestMetrics | None
    ) -> None:
        """Log each request on `<service>.access` (if `access_log`) and report it to `metrics`;
        trace it as `service` when the environment asks for traces (servicekit.tracing)."""
        self.access_logger = logging.getLogger(f"{service}.access")
        self.access_log = access_log
        self.request_metrics = metrics

        async def start_tracing() -> None:
            tracing.start_tracing(service)

        self.before_serving(start_tracing)
        self.after_serving(_stop_tracing)

    def register_blueprint(self, blueprint: Blueprint, **options: object) -> None:
        super().register_blueprint(blueprint, **options)  # type: ignore[arg-type]
        # Flask's Scaffold gives each blueprint Flask's default template context processor, a
        # plain function that Quart runs in a thread on every render (and that finds no Flask
        # context here); Quart's own, a coroutine, already adds `g`, `request` and `session`.
        for processors in self.template_context_processors.values():
            processors[:] = [found for found in processors if found is not flask_context_processor]

    async def startup(self) -> None:
        await super().startup()
        # What exists once serving starts (modules, the app, its routes, schemas and templates)
        # lives as long as the process: keep it out of the collections per-request garbage
        # sets off (bench/README.md).
        gc.freeze()

    async def handle_request(self, request: Request) -> ResponseTypes:
        tracer = tracing.tracer()
        if tracer is None:
            return await self._handle_tracked(request, None)
        with tracing.server_span(tracer, request.method, request.path, request.headers) as span:
            return await self._handle_tracked(request, span)

    async def _handle_tracked(self, request: Request, span: Span | None) -> ResponseTypes:
        started = time.perf_counter()
        request_id = request_ids.request_id_from(request.headers.get(request_ids.REQUEST_ID_HEADER))
        token = request_ids.set_current_request_id(request_id)
        metrics = self.request_metrics
        if metrics is not None:
            metrics.request_started()
        try:
            # Runs until the response is complete, or is cancelled if the client goes away:
            # either way the in-flight count comes down again.
            response = await super().handle_request(request)
        finally:
            if metrics is not None:
                metrics.request_finished()
            request_ids.reset_current_request_id(token)
        elapsed = time.perf_counter() - started
        response.headers[request_ids.REQUEST_ID_HEADER] = request_id
        rule = request.url_rule
        route = route_template(rule.rule) if rule is not None else UNMATCHED_ROUTE
        method, status = request.method, response.status_code
        if span is not None:
            tracing.name_server_span(span, method, route, status, request_id)
        if metrics is not None:
            try:
                metrics.observe_request(method, route, status, elapsed)
            except OSError:
                # Never worth failing a request over (e.g. the metrics directory removed
                # underneath a worker that is shutting down).
                self.access_logger.warning("could not record request metrics", exc_info=True)
        if self.access_log and self.access_logger.isEnabledFor(logging.INFO):
            path = request.path
            self.access_logger.info(
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


async def _tie_worker_to_master() -> None:
    tie_worker_to_master()


async def _stop_tracing() -> None:
    tracing.stop_tracing()
