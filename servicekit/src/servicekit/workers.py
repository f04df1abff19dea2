"""Hypercorn's worker processes and their master."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import multiprocessing
import os
import signal
from collections.abc import Sequence
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypercorn.config import Config

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
# What every forked worker runs on, imported by the master with the service's own modules:
# Hypercorn's worker and its event loop.
WORKER_MODULES = ("hypercorn.asyncio.run", "uvloop")


def tie_worker_to_master() -> None:
    """In a Hypercorn worker process, leave shutting down to the master process.

    The master stops its workers gracefully through a shared event: a SIGTERM sent to the whole
    process group (as process managers do) must neither cut their in-flight requests short nor
    reach the master again through them (Hypercorn's handler is not re-entrant and can
    deadlock). Should the master die without stopping them, the kernel kills the worker (Linux).
    """
    master = multiprocessing.parent_process()
    if master is None:
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        # The symbols already loaded (libc's among them): finding libc by name would run
        # `ldconfig -p` in a subprocess in each worker.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != master.pid:  # the master died before the line above
        os._exit(1)


def join_workers() -> None:
    """Wait for every worker: Hypercorn returns once the first one has stopped, while the
    others may still be finishing requests (and writing metrics) for the graceful timeout."""
    for worker in multiprocessing.active_children():
        worker.join()


def run_forked_worker(**kwargs: Any) -> None:
    """A forked worker: the garbage collector on again (the master keeps it off while it
    imports and forks), then Hypercorn's uvloop worker with `kwargs`."""
    from hypercorn.asyncio.run import uvloop_worker

    gc.enable()
    uvloop_worker(**kwargs)


def serve_forked_workers(config: Config, preload: Sequence[str]) -> int:
    """Hypercorn's multi-worker master (`hypercorn.run.run`), with the workers forked from a
    master that has imported `preload` first: they share those modules' memory instead of each
    importing its own copy, and start sooner (Hypercorn itself only spawns fresh interpreters,
    pgjones/hypercorn#71). Production only: a reloader needs each worker to import anew.

    As in Hypercorn, the master stops every worker through one shared event on SIGTERM or
    SIGINT; a worker that exits with 0 is replaced, one that fails stops them all and its exit
    code is the server's, for the process manager to restart it.
    """
    # Python's recipe for forking (gc.freeze): no collection in the master while it imports
    # (an import makes tens of thousands of objects and hardly any garbage; a full collection
    # of them took ~35 ms, the ones during the imports ~45 ms more), every object it made frozen
    # right before the fork, and the collector on again in each worker (run_forked_worker).
    # Frozen objects are never collected in a worker, so their pages stay shared.
    collecting = gc.isenabled()
    gc.disable()
    for module in (*WORKER_MODULES, *preload):
        importlib.import_module(module)
    context = multiprocessing.get_context("fork")
    sockets = config.create_sockets()
    shutdown_event = context.Event()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if stopping:  # a second signal while the first sets the event: its lock is not re-entrant
            return
        stopping = True
        shutdown_event.set()

    workers: list[BaseProcess] = []
    exit_code = 0
    try:
        while not stopping:
            # Forked workers inherit the master's handlers: they must ignore these signals
            # until tie_worker_to_master, as spawned ones do.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            gc.freeze()
            while len(workers) < config.workers:
                worker = context.Process(
                    target=run_forked_worker,
                    kwargs={"config": config, "sockets": sockets, "shutdown_event": shutdown_event},
                )
                worker.start()
                workers.append(worker)
            if collecting:
                gc.enable()
            signal.signal(signal.SIGINT, stop)
            signal.signal(signal.SIGTERM, stop)
            wait([worker.sentinel for worker in workers])
            for worker in [worker for worker in workers if worker.exitcode is not None]:
                workers.remove(worker)
                if worker.exitcode != 0 and exit_code == 0:
                    exit_code = max(worker.exitcode, 1)  # killed by a signal: negative
            if exit_code != 0:
                stop()
    finally:
        shutdown_event.set()
        for worker in workers:
            worker.join()
        for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
            sock.close()
    return exit_code
