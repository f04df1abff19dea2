"""A service run the way deploy/kubernetes constrains its container, with bubblewrap.

The root filesystem is this machine's, read-only; only the container's emptyDir mounts are
writable (each a fresh host directory, mode 1777 as kubelet makes them, so the test can see
what landed there); the process runs as the pod's uid and gid with no capability and
no_new_privs, in its own PID namespace as PID 1, so SIGTERM reaches it as kubelet sends it.
As root, setpriv drops to the real uid; otherwise a user namespace maps it (`--uid`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rendered_manifests import container_env, named, pod_spec, render, writable_mounts
from testkit.environment import bare_environ
from testkit.processes import ServerProcess

from testkit import procfs

REPO = Path(__file__).resolve().parent.parent
# The image's environment besides its own settings (nix/images.nix, baseEnv).
IMAGE_ENV = {"HOME": "/tmp", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}  # noqa: S108
# What a failed write looks like in a service's log.
WRITE_ERRORS = ("Read-only file system", "Permission denied", "Traceback")


def bwrap() -> str:
    if not sys.platform.startswith("linux"):
        pytest.skip("bubblewrap sandboxes are Linux only")
    found = shutil.which("bwrap")
    if found is None:
        pytest.fail("bwrap not found: `make bootstrap` installs bubblewrap")
    return found


class Pod:
    """What one container of a Deployment in the production overlay gets: settings, user,
    writable paths; `sandbox_command` wraps a command in those constraints."""

    def __init__(self, deployment: str, empty_dirs_root: Path) -> None:
        objects = render("production")
        workload = named(objects, "Deployment", deployment)
        security = pod_spec(workload)["securityContext"]
        (container,) = pod_spec(workload)["containers"]
        self.uid, self.gid = security["runAsUser"], security["runAsGroup"]
        self.settings = container_env(objects, container)
        # Each emptyDir, as a host directory of its own.
        self.empty_dirs: dict[str, Path] = {}
        for mount in writable_mounts(workload, container):
            host = empty_dirs_root / mount.strip("/").replace("/", "-")
            host.mkdir(parents=True)
            host.chmod(0o1777)
            self.empty_dirs[mount] = host

    def environ(self, **extra: str) -> dict[str, str]:
        path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
        return bare_environ(**{**self.settings, **IMAGE_ENV, "PATH": path, **extra})

    def sandbox_command(self, command: list[str]) -> list[str]:
        arguments = [bwrap(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for path, host in self.empty_dirs.items():
            arguments += mount_point(Path(path))
            arguments += ["--bind", str(host), path]
        # The code runs from this checkout and its .venv; a checkout under /tmp (a CI clone)
        # would vanish under the /tmp emptyDir, where an image keeps its code elsewhere: show
        # it again, read-only.
        # Its parents are made traversable there: mktemp -d's own folder is 0700 and root's.
        for code in sorted({REPO, Path(sys.prefix)}):
            for path in self.empty_dirs:
                if code.is_relative_to(path) and code != Path(path):
                    for parent in reversed(code.relative_to(path).parents[:-1]):
                        arguments += ["--perms", "0755", "--dir", str(Path(path) / parent)]
                    arguments += ["--ro-bind", str(code), str(code)]
        arguments += ["--unshare-pid", "--unshare-ipc", "--as-pid-1", "--die-with-parent"]
        arguments += ["--chdir", "/tmp"]  # noqa: S108 - the image's WorkingDir
        if os.geteuid() == 0:
            drop = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups"]
            drop += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
            return [*arguments, "--", *drop, *command]
        identity = ["--unshare-user", "--uid", str(self.uid), "--gid", str(self.gid)]
        return [*arguments, *identity, "--cap-drop", "ALL", "--", *command]

    def run(self, command: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.sandbox_command(command),
            env=self.environ(**extra),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        # Without root, bwrap needs user namespaces, which build sandboxes often refuse.
        if os.geteuid() != 0 and result.stderr.startswith("bwrap:"):
            pytest.skip(f"bubblewrap cannot sandbox here: {result.stderr.strip()}")
        return result

    def written(self) -> dict[str, list[str]]:
        """What is in each emptyDir now, relative to it (not the mount points of the code)."""
        code = {REPO, Path(sys.prefix)}
        return {
            path: sorted(
                str(item.relative_to(host))
                for item in host.rglob("*")
                if not any(c.is_relative_to(Path(path) / item.relative_to(host)) for c in code)
            )
            for path, host in self.empty_dirs.items()
        }


def mount_point(path: Path) -> list[str]:
    """bwrap arguments that make `path` exist on the read-only root, as a container runtime
    creates a mount point: a read-only tmpfs over its first missing ancestor's parent."""
    if path.exists():
        return []
    anchor = path
    while not anchor.parent.exists():
        anchor = anchor.parent
    return ["--tmpfs", str(anchor.parent), "--dir", str(path), "--remount-ro", str(anchor.parent)]


class SandboxedServer(ServerProcess):
    """A ServerProcess inside a Pod's sandbox; stop() sends SIGTERM to the service itself."""

    def __init__(self, pod: Pod, name: str, command: list[str], log_path: Path, **env: Any):
        super().__init__(name, pod.sandbox_command(command), pod.environ(**env), log_path)
        self.pod = pod

    def service_pid(self) -> int:
        (pid,) = [pid for pid in self.children() if procfs.stat(pid).parent == self.pid]
        return pid

    def stop(self, *, whole_group: bool | None = None, timeout: float = 30.0) -> int | None:
        """SIGTERM to the service, as kubelet sends it; bwrap exits with the service's code.
        None if it had to be killed after `timeout` seconds (kubelet's SIGKILL)."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(self.service_pid(), signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()  # --die-with-parent takes the sandbox with it
                process.wait()
                return None
        return process.returncode

    def write_errors(self) -> list[str]:
        return [line for line in self.log_lines() if any(e in line for e in WRITE_ERRORS)]
