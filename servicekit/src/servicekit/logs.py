"""Logs as JSON lines on stdout, one object per line, the same shape for every service.

    {"ts": "2026-05-01T12:00:00.123Z", "level": "info", "logger": "backend.access",
     "message": "GET /livez 200", ...the fields passed with `extra=`..., "exception": "...",
     "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}

`ts` is RFC 3339 in UTC with milliseconds. `trace_id` and `span_id` are there when the line is
written inside a span (a request, with tracing on): the ids to look the trace up by.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from opentelemetry import trace

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged as is.
# ("color_message" is a terminal-coloured copy of the message some libraries add.)
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}
)
# One encoder for every line: json.dumps with options builds a new one on each call.
_encoder = json.JSONEncoder(ensure_ascii=False, default=str)


def timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # The handler writes in the caller's thread and context: the current span is the
        # request's (or a database statement's inside it).
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        return _encoder.encode(entry)


def configure_logging(level: str = "info") -> None:
    """Send every logger (ours, Hypercorn's, the libraries') through one JSON handler."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Hypercorn's loggers are handed over as Logger objects, so they keep no handler of their
    # own and propagate here.
    for name in ("hypercorn.error", "hypercorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # No line shows the caller's file and line, thread or process: spare every record looking
    # them up (see "Optimization" in the logging HOWTO).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
