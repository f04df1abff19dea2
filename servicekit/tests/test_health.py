"""The healthcheck command against real servers on loopback."""

import http.server
import threading

import pytest
from servicekit.health import healthcheck
from testkit.network import free_port


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/livez" else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server_port():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_server_answering_200_is_healthy(server_port):
    assert healthcheck("127.0.0.1", server_port) == 0


@pytest.mark.parametrize("host", ["0.0.0.0", ""])  # noqa: S104 - the wildcard is the case
def test_a_wildcard_bind_is_asked_on_loopback(server_port, host):
    assert healthcheck(host, server_port) == 0


def test_another_status_is_unhealthy_and_says_so(server_port, capsys):
    assert healthcheck("127.0.0.1", server_port, path="/healthz") == 1
    assert capsys.readouterr().err == (
        f"unhealthy: http://127.0.0.1:{server_port}/healthz answered 503\n"
    )


def test_nothing_listening_is_unhealthy_and_says_so(capsys):
    port = free_port()
    assert healthcheck("127.0.0.1", port, timeout=1) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"unhealthy: http://127.0.0.1:{port}/livez: ")
    assert "refused" in error.lower()
