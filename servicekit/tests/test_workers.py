"""A Hypercorn worker leaves shutting down to its master and dies with it; the master waits for
its workers, and forks them with what it imported frozen."""

import multiprocessing
import os
import signal
import subprocess
import sys

import httpx
from servicekit.workers import join_workers, tie_worker_to_master
from testkit.environment import bare_environ
from testkit.processes import ServerProcess, wait_until_gone
from testkit.procfs import is_running


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


def test_join_workers_returns_once_every_child_has_stopped():
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=os.getpid) for _ in range(2)]
    for child in children:
        child.start()
    join_workers()
    assert all(child.exitcode == 0 for child in children)


# -- the forked master, as a process of its own -------------------------------------------------

# An ASGI app that answers with its worker's garbage-collector state.
PROBE_APP = """
import gc, json

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    state = {"collecting": gc.isenabled(), "frozen": gc.get_freeze_count()}
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(state).encode()})
"""

FORKED_MASTER = """
import os, sys
from hypercorn.config import Config
from servicekit.workers import serve_forked_workers
config = Config()
config.application_path = "probe_app:app"
config.bind = [f"127.0.0.1:{os.environ['PORT']}"]
config.worker_class = "uvloop"
config.workers = 2
sys.exit(serve_forked_workers(config, ["probe_app"]))
"""


def test_forked_workers_collect_garbage_and_keep_what_the_master_imported_frozen(tmp_path):
    (tmp_path / "probe_app.py").write_text(PROBE_APP)
    search_path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    env = bare_environ(PYTHONPATH=search_path)
    master = ServerProcess("forked", [sys.executable, "-c", FORKED_MASTER], env, tmp_path / "log")
    master.start("/", 30)
    try:
        state = httpx.get(master.url).json()
        # The master's objects (the imported modules) are never collected in a worker, so their
        # pages stay shared; the worker's own are.
        assert state["collecting"] is True
        assert state["frozen"] > 10_000
    finally:
        assert master.stop() == 0


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
