"""The /proc reader against real processes."""

from __future__ import annotations

import os
import subprocess
import sys

from testkit.waiting import wait_until

from testkit import procfs


def test_a_child_is_running_below_us_until_it_exits() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert procfs.is_running(child.pid)
        assert child.pid in procfs.descendants(os.getpid())
        found = procfs.stat(child.pid)
        assert found is not None
        assert found.parent == os.getpid()
        assert procfs.start_time(child.pid) == found.start_ticks
        assert "time.sleep(60)" in (procfs.command_line(child.pid) or "")
        assert procfs.resident_mib(child.pid) > 0
        # Proportional: pages shared with other processes count by their share.
        assert 0 < procfs.proportional_mib(child.pid) <= procfs.resident_mib(child.pid)
    finally:
        child.kill()
        wait_until(lambda: not procfs.is_running(child.pid), 10, "the child to die")
    # Killed but not yet reaped: a zombie, which no longer counts as running.
    assert procfs.start_time(child.pid) is None
    child.wait()
    assert procfs.stat(child.pid) is None
    assert procfs.command_line(child.pid) is None


def test_cpu_time_grows_with_work() -> None:
    def ticks() -> int:
        found = procfs.stat(os.getpid())
        assert found is not None
        return found.cpu_ticks

    before = ticks()
    # Busy, so that this process's user time must grow by a few clock ticks.
    wait_until(lambda: sum(range(100_000)) and ticks() >= before + 3, 10, "CPU time to grow")
    assert procfs.stat(os.getpid()).cpu_seconds >= (before + 3) / procfs.CLOCK_TICKS


def test_server_roles_follow_parentage_and_the_resource_tracker() -> None:
    # The tracker is the one helper multiprocessing starts for spawned processes.
    tracker_code = "from multiprocessing.resource_tracker import main; import time; time.sleep(60)"
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    tracker = subprocess.Popen([sys.executable, "-c", tracker_code])
    try:
        server = [os.getpid(), worker.pid, tracker.pid]
        assert procfs.server_role(os.getpid(), server) == "master"
        assert procfs.server_role(worker.pid, server) == "worker"
        assert procfs.server_role(tracker.pid, server) == "resource tracker"
    finally:
        for child in (worker, tracker):
            child.kill()
            child.wait()
