"""One JSON object per log line, the same shape for every service."""

import io
import json
import logging
import re
import sys

import pytest
from servicekit.logs import JsonFormatter, configure_logging

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def format_record(message, *args, exc_info=None, **extra):
    record = logging.LogRecord("backend.access", logging.INFO, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter().format(record))


def test_a_line_has_the_fixed_fields_first():
    line = format_record("GET %s %d", "/livez", 200)
    assert list(line) == ["ts", "level", "logger", "message"]
    assert TIMESTAMP.fullmatch(line["ts"])
    assert (line["level"], line["logger"], line["message"]) == (
        "info",
        "backend.access",
        "GET /livez 200",
    )


def test_extra_fields_are_kept_as_they_are():
    line = format_record("created", user_id=7, route="/api/v1/users", ok=True, path="/ü")
    assert (line["user_id"], line["route"], line["ok"], line["path"]) == (
        7,
        "/api/v1/users",
        True,
        "/ü",
    )


def test_values_json_cannot_encode_are_written_as_text():
    value = object()
    line = format_record("odd", value=value)
    assert line["value"] == str(value)


def test_an_exception_is_one_field_of_the_same_line():
    try:
        raise ValueError("boom")
    except ValueError:
        line = format_record("failed", exc_info=sys.exc_info())
    assert "ValueError: boom" in line["exception"]
    assert line["message"] == "failed"


@pytest.fixture
def restored_logging():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers, level = saved
    root.setLevel(level)


def test_configure_logging_sends_every_logger_through_one_json_handler(
    restored_logging, monkeypatch
):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    configure_logging("warning")
    logging.getLogger("hypercorn.error").warning("from hypercorn")
    logging.getLogger("some.library").info("below the level")
    logging.getLogger("some.library").error("from a library")
    lines = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("hypercorn.error", "from hypercorn"),
        ("some.library", "from a library"),
    ]
