"""A Hypercorn worker leaves shutting down to its master and dies with it; the master waits for
its workers, and forks them with what it imported frozen."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from servicekit.workers import tie_worker_to_master
from testkit.environment import bare_environ
from testkit.processes import ServerProcess, wait_until_gone
from testkit.procfs import is_running
from testkit.waiting import wait_until


def _worker(answers):
    tie_worker_to_master()
    os.kill(os.getpid(), signal.SIGTERM)  # as a process manager signalling the whole group
    answers.put("still running after SIGTERM")


def test_a_worker_ignores_sigterm_sent_to_the_group():
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    worker = context.Process(target=_worker, args=(answers,))
    worker.start()
    assert answers.get(timeout=30) == "still running after SIGTERM"
    worker.join(timeout=30)
    assert worker.exitcode == 0


def test_in_the_master_itself_nothing_changes():
    before = signal.getsignal(signal.SIGTERM)
    tie_worker_to_master()
    assert signal.getsignal(signal.SIGTERM) is before


# -- the master, as a process of its own ---------------------------------------------------------

# An ASGI app that answers with its code's version and its worker's garbage-collector state.
PROBE_APP = """
import gc, json

VERSION = {version}

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({{"type": "lifespan.startup.complete"}})
        await send({{"type": "lifespan.shutdown.complete"}})
        return
    state = {{"version": VERSION, "collecting": gc.isenabled(), "frozen": gc.get_freeze_count()}}
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": json.dumps(state).encode()}})
"""

MASTER = """
import os, sys
from hypercorn.config import Config
from servicekit.workers import serve_workers
config = Config()
config.application_path = "probe_app:app"
config.bind = [f"127.0.0.1:{os.environ['PORT']}"]
config.worker_class = "uvloop"
config.workers = int(os.environ["WORKERS"])
config.use_reloader = os.environ["RELOAD"] == "1"
sys.exit(serve_workers(config, ["probe_app"]))
"""


def save(source: Path, text: str) -> None:
    """Write `text` with a modification time later than any the master has seen."""
    later = source.stat().st_mtime + 2
    source.write_text(text)
    os.utime(source, (later, later))


def start_master(directory: Path, *, workers: int, reload: bool) -> ServerProcess:
    (directory / "probe_app.py").write_text(PROBE_APP.format(version=1))
    search_path = os.pathsep.join([str(directory), os.environ.get("PYTHONPATH", "")])
    env = bare_environ(PYTHONPATH=search_path, WORKERS=str(workers), RELOAD=str(int(reload)))
    master = ServerProcess("master", [sys.executable, "-c", MASTER], env, directory / "log")
    return master.start("/", 30)


def test_forked_workers_collect_garbage_and_keep_what_the_master_imported_frozen(tmp_path):
    master = start_master(tmp_path, workers=2, reload=False)
    try:
        state = httpx.get(master.url).json()
        # The master's objects (the imported modules) are never collected in a worker, so their
        # pages stay shared; the worker's own are.
        assert state["collecting"] is True
        assert state["frozen"] > 10_000
    finally:
        assert master.stop() == 0


def test_with_the_reloader_a_changed_module_is_served_by_new_workers(tmp_path):
    master = start_master(tmp_path, workers=1, reload=True)
    try:
        assert httpx.get(master.url).json()["version"] == 1
        [first_worker] = master.workers()
        save(tmp_path / "probe_app.py", PROBE_APP.format(version=2))
        wait_until(
            lambda: http_json(master.url).get("version") == 2, 30, "the new code to answer", 0.1
        )
        assert master.workers() != [first_worker]
        assert master.process.poll() is None
    finally:
        assert master.stop() == 0


def test_with_the_reloader_broken_code_waits_for_the_next_save(tmp_path):
    master = start_master(tmp_path, workers=1, reload=True)
    try:
        source = tmp_path / "probe_app.py"
        save(source, "VERSION = (\n")  # a file saved half-edited: the new worker cannot import it
        wait_until(lambda: http_json(master.url) == {}, 30, "the broken code's worker to fail", 0.1)
        wait_until(lambda: not master.workers(), 30, "no worker left", 0.1)
        assert master.process.poll() is None  # the master waits, rather than stop

        save(source, PROBE_APP.format(version=3))
        wait_until(lambda: http_json(master.url).get("version") == 3, 30, "the fixed code", 0.1)
        assert "A worker of the changed code failed" in master.log_text()
    finally:
        assert master.stop() == 0


def test_sighup_replaces_the_workers_and_the_master_keeps_serving(tmp_path):
    master = start_master(tmp_path, workers=2, reload=False)
    try:
        first = set(master.workers())
        os.kill(master.pid, signal.SIGHUP)
        wait_until(lambda: not first & set(master.workers()), 30, "the old workers to go", 0.05)
        wait_until(lambda: len(master.workers()) == 2, 30, "two new workers", 0.05)
        wait_until(lambda: http_json(master.url).get("version") == 1, 30, "an answer", 0.05)
        assert master.process.poll() is None
    finally:
        assert master.stop() == 0


def http_json(url: str) -> dict:
    try:
        return httpx.get(url, timeout=2).json()
    except httpx.TransportError:
        return {}  # between the old workers and the new


@pytest.mark.parametrize("reload", [False, True], ids=["forked", "spawned with the reloader"])
def test_a_burst_of_sigterms_stops_the_master_and_its_workers(tmp_path, reload):
    """What the kernel does when a multi-threaded parent (process-compose) is killed: the
    parent-death signal comes once per thread that goes. Hypercorn's reloader set its workers'
    event in the signal handler, re-entered its lock on the next signal and hung."""
    master = start_master(tmp_path, workers=1 if reload else 2, reload=reload)
    workers = master.workers()
    for _ in range(200):
        os.kill(master.pid, signal.SIGTERM)
        spaced = time.perf_counter() + 20e-6  # a handler's length apart, roughly
        while time.perf_counter() < spaced:
            pass
    try:
        assert master.process.wait(30) == 0
    finally:
        master.stop()
    wait_until_gone(workers)


TIED_WORKER = """
import multiprocessing, signal
from servicekit.workers import tie_worker_to_master

def worker(ready):
    tie_worker_to_master()
    ready.set()
    signal.pause()

if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    child = context.Process(target=worker, args=(ready,))
    child.start()
    ready.wait(30)
    print(child.pid, flush=True)
    signal.pause()
"""


def test_a_worker_dies_with_its_master(tmp_path):
    script = tmp_path / "tied.py"
    script.write_text(TIED_WORKER)
    master = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=bare_environ()
    )
    try:
        worker = int(master.stdout.readline())
        assert is_running(worker)
        master.kill()  # no chance to stop its worker: the kernel's death signal does
        wait_until_gone([worker])
    finally:
        master.kill()
        master.wait(30)
        master.stdout.close()
