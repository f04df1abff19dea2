"""The server-process runner against a real HTTP server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from testkit.processes import ServerProcess
from testkit.waiting import wait_until

SERVER = """
import http.server, os
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/livez" else 404)
        self.end_headers()
    def log_message(self, *args):
        print('{"message": "request"}', flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Answer).serve_forever()
"""


def test_start_waits_for_an_answer_and_stop_ends_it(tmp_path: Path) -> None:
    server = ServerProcess("probe", [sys.executable, "-c", SERVER], {}, tmp_path / "probe.log")

    server.start("/livez", timeout=30)

    assert server.get_status("/livez") == 200
    assert server.get_status("/missing") == 404
    wait_until(server.log_entries, 10, "the request in the log")
    assert server.stop() is not None
    assert server.get_status("/livez") is None


def test_a_server_that_exits_fails_with_its_log(tmp_path: Path) -> None:
    crash = [sys.executable, "-c", "print('boom: bad config'); raise SystemExit(3)"]
    server = ServerProcess("crash", crash, {}, tmp_path / "crash.log")

    with pytest.raises(RuntimeError, match=r"exited with 3; log:\nboom: bad config"):
        server.start()


def test_wait_until_names_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match="waiting for the impossible"):
        wait_until(lambda: False, 0.1, "the impossible")
