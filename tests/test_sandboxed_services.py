"""Each service runs as deploy/kubernetes constrains its container (tests/sandbox.py): as the
pod's uid, on a read-only root with only its emptyDir mounts writable. It must migrate, serve,
answer its probes and stop cleanly on SIGTERM; any write elsewhere fails it."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from running_stack import ROOT
from sandbox import Pod, SandboxedServer

from testkit import procfs

BACKEND = [sys.executable, "-m", "backend.cli"]
FRONTEND = [sys.executable, "-m", "frontend"]
TMP = "/tmp"  # noqa: S108 - the container's own /tmp, an emptyDir


def service_uid(server: SandboxedServer) -> int:
    status = Path(f"/proc/{server.service_pid()}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("Uid:")]
    return int(line.split()[1])


def expected_host_uid(pod: Pod) -> int:
    # As root the sandbox drops to the pod's real uid; otherwise a user namespace maps it.
    return pod.uid if os.geteuid() == 0 else os.getuid()


def test_the_sandbox_lets_write_only_the_empty_dirs(tmp_path: Path) -> None:
    pod = Pod("backend", tmp_path / "volumes")
    script = (
        "import os, sys\n"
        "print(os.getuid(), os.getgid())\n"
        "open('/tmp/probe', 'w').write('ok')\n"
        "open(os.environ['PROMETHEUS_MULTIPROC_DIR'] + '/probe', 'w').write('ok')\n"
        f"open({str(ROOT / 'probe')!r}, 'w')\n"
    )
    result = pod.run([sys.executable, "-c", script])
    assert result.stdout.split() == [str(pod.uid), str(pod.gid)]
    assert "Read-only file system" in result.stderr
    assert result.returncode != 0
    assert not (ROOT / "probe").exists()
    assert pod.written() == {TMP: ["probe"], "/run/metrics": ["probe"]}


@pytest.fixture
def sandboxed_backend(db_env: dict[str, str], tmp_path: Path) -> Iterator[SandboxedServer]:
    pod = Pod("backend", tmp_path / "backend-volumes")
    migrate = pod.run([*BACKEND, "migrate", "--wait", "10"], **db_env)
    assert migrate.returncode == 0, migrate.stderr
    assert "database schema is up to date" in migrate.stdout
    server = SandboxedServer(
        pod,
        "backend",
        [*BACKEND, "serve"],
        tmp_path / "backend.log",
        **db_env,
        BACKEND_HOST="127.0.0.1",
    )
    server.port_variables = ("BACKEND_PORT",)
    try:
        yield server.start("/healthz")
    finally:
        server.stop()


def test_backend_serves_and_stops_cleanly_in_its_sandbox(
    sandboxed_backend: SandboxedServer,
) -> None:
    server = sandboxed_backend
    assert service_uid(server) == expected_host_uid(server.pod)
    assert server.get_status("/livez") == 200
    assert httpx.get(f"{server.url}/healthz", timeout=5).json()["status"] == "ok"
    name = f"sandbox{secrets.token_hex(4)}"
    created = httpx.post(
        f"{server.url}/api/v1/users",
        json={"username": name, "full_name": "Sandboxed", "email": f"{name}@example.com"},
        timeout=5,
    )
    assert created.status_code == 201, created.text
    assert "backend_http_request_duration_seconds" in httpx.get(f"{server.url}/metrics").text
    # prometheus_client shares its values through the metrics emptyDir.
    assert any(item.endswith(".db") for item in server.pod.written()["/run/metrics"])

    pid = server.service_pid()
    assert server.stop(timeout=15) == 0, server.log_tail()
    assert not procfs.is_running(pid)
    assert server.write_errors() == []


def test_frontend_serves_and_stops_cleanly_in_its_sandbox(
    sandboxed_backend: SandboxedServer, tmp_path: Path
) -> None:
    pod = Pod("frontend", tmp_path / "frontend-volumes")
    server = SandboxedServer(
        pod,
        "frontend",
        [*FRONTEND, "serve"],
        tmp_path / "frontend.log",
        FRONTEND_HOST="127.0.0.1",
        FRONTEND_BACKEND_URL=sandboxed_backend.url,
        FRONTEND_SECRET_KEY=secrets.token_urlsafe(32),
    )
    server.port_variables = ("FRONTEND_PORT", "FRONTEND_METRICS_PORT")
    try:
        server.start("/healthz")
        assert service_uid(server) == expected_host_uid(pod)
        assert server.get_status("/livez") == 200
        assert httpx.get(f"{server.url}/healthz", timeout=5).json() == {
            "status": "ok",
            "backend": "ok",
        }
        page = httpx.get(f"{server.url}/users", timeout=10)
        assert page.status_code == 200
        assert "<form" in page.text
        metrics_port = server.ports["FRONTEND_METRICS_PORT"]
        assert httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").status_code == 200
        assert any(item.endswith(".db") for item in pod.written()["/run/metrics"])
    finally:
        code = server.stop(timeout=20)
    assert code == 0, server.log_tail()
    assert server.write_errors() == []
