"""Hypercorn's worker processes and their master."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Sequence
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypercorn.config import Config

logger = logging.getLogger(__name__)
# The signals a master acts on (stop, stop, replace the workers): each of its workers ignores
# them and leaves them to it.
MASTER_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
# What every forked worker runs on, imported by the master with the service's own modules:
# Hypercorn's worker and its event loop.
WORKER_MODULES = ("hypercorn.asyncio.run", "uvloop")


def tie_worker_to_master() -> None:
    """In a Hypercorn worker process, leave shutting down to the master process.

    The master stops its workers gracefully through a shared event: a SIGTERM sent to the whole
    process group (as process managers do) must not cut their in-flight requests short. Should
    the master die without stopping them, the kernel kills the worker (Linux).
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


def run_worker(**kwargs: Any) -> None:
    """A worker process: the master's signals ignored (it stops the worker through its event),
    the garbage collector on again (the master keeps it off while it imports and forks), then
    Hypercorn's uvloop worker with `kwargs`."""
    from hypercorn.asyncio.run import uvloop_worker

    for signum in MASTER_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, MASTER_SIGNALS)  # blocked by the master (below)
    signal.set_wakeup_fd(-1)  # a forked worker's signals are its own, not its master's
    gc.enable()
    uvloop_worker(**kwargs)


def serve_workers(config: Config, preload: Sequence[str]) -> int:
    """Hypercorn's multi-worker master (`hypercorn.run.run`), run by us for two reasons.

    - In production the workers are forked from a master that has imported `preload` first:
      they share those modules' memory instead of each importing its own copy, and start
      sooner (Hypercorn itself only spawns fresh interpreters, pgjones/hypercorn#71).
    - With `config.use_reloader` (development) they are spawned, to import the code afresh,
      and replaced whenever a module the master imported changes on disk (Hypercorn's own
      check, once a second). When the changed code's workers fail (a file saved half-edited),
      the master waits for the next change instead of stopping. Hypercorn's reloader stops on
      a signal by setting the workers' event inside the signal handler: a second signal
      during that call, as the kernel sends when a multi-threaded parent such as
      process-compose is killed, re-entered the event's lock and hung the master and its
      workers for ever. Here a handler only raises a flag and wakes the master's loop, which
      does the rest.

    As in Hypercorn, SIGTERM or SIGINT stops every worker gracefully through one shared event,
    and SIGHUP replaces them (gracefully too); a worker that exits with 0 is replaced, one that
    fails stops them all and its exit code is the server's, for the process manager to restart
    it.
    """
    # Python's recipe for forking (gc.freeze): no collection in the master while it imports
    # (an import makes tens of thousands of objects and hardly any garbage; a full collection
    # of them took ~35 ms, the ones during the imports ~45 ms more), every object it made frozen
    # right before the fork, and the collector on again in each worker (run_worker).
    # Frozen objects are never collected in a worker, so their pages stay shared.
    collecting = gc.isenabled()
    gc.disable()
    for module in (*WORKER_MODULES, *preload):
        importlib.import_module(module)
    from hypercorn.utils import check_for_updates, files_to_watch

    reload = config.use_reloader
    context = multiprocessing.get_context("spawn" if reload else "fork")
    sockets = config.create_sockets()
    watched = files_to_watch() if reload else {}
    stopping = restarting = False
    # With the reloader: a source file has changed since the start (`changed`), and the
    # changed code's workers failed, so new ones wait for the next change (`waiting`).
    changed = waiting = False

    # The handlers only raise a flag: the wake-up byte each signal writes ends the loop's wait.
    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    def restart(*_: object) -> None:
        nonlocal restarting
        restarting = True

    shutdown_event = context.Event()
    workers: list[BaseProcess] = []
    exit_code = 0
    wake_up, woken = _wake_up_pipe()
    signal.set_wakeup_fd(woken)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, restart)
    try:
        while not stopping:
            if len(workers) < config.workers and not waiting:
                _start_workers(context, config, sockets, shutdown_event, workers)
                if collecting:
                    gc.enable()
            ready = wait([wake_up, *(worker.sentinel for worker in workers)], 1 if reload else None)
            if wake_up in ready:
                os.read(wake_up, 512)
            exited = [worker for worker in workers if worker.exitcode is not None]
            for worker in exited:
                workers.remove(worker)
            failure = next((worker.exitcode for worker in exited if worker.exitcode), 0)
            if failure and changed:
                # Code saved while being edited: wait for the next save, not for a restart.
                logger.error(
                    "A worker of the changed code failed (exit code %s): the workers start "
                    "again when a source file changes",
                    failure,
                )
                _stop_workers(shutdown_event, workers)
                waiting = True
            elif failure:
                exit_code = max(failure, 1)  # killed by a signal: negative
                stopping = True
            elif not stopping and (restarting or (reload and check_for_updates(watched))):
                logger.info(
                    "%s: restarting the workers",
                    "SIGHUP" if restarting else "A source file changed",
                )
                changed = changed or not restarting
                restarting = waiting = False
                _stop_workers(shutdown_event, workers)
                shutdown_event = context.Event()  # the next workers' own
                if reload:  # check_for_updates keeps the changed file's old time
                    watched = files_to_watch()
    finally:
        _stop_workers(shutdown_event, workers)
        signal.set_wakeup_fd(-1)
        for descriptor in (wake_up, woken):
            os.close(descriptor)
        for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
            sock.close()
    return exit_code


def _start_workers(
    context: Any, config: Config, sockets: Any, shutdown_event: Any, workers: list[BaseProcess]
) -> None:
    """Start workers until there are `config.workers`, with the master's signals held meanwhile:
    a worker inherits the master's handlers (forked) or the signal mask (spawned), and must
    not act on a signal before it ignores them (run_worker); a signal for the master waits
    until the workers have started, instead of being lost."""
    signal.pthread_sigmask(signal.SIG_BLOCK, MASTER_SIGNALS)
    try:
        gc.freeze()
        while len(workers) < config.workers:
            worker = context.Process(
                target=run_worker,
                kwargs={"config": config, "sockets": sockets, "shutdown_event": shutdown_event},
            )
            worker.start()
            workers.append(worker)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, MASTER_SIGNALS)


def _wake_up_pipe() -> tuple[int, int]:
    """A pipe whose write end `signal.set_wakeup_fd` can take: both ends non-blocking."""
    wake_up, woken = os.pipe()
    for descriptor in (wake_up, woken):
        os.set_blocking(descriptor, False)
    return wake_up, woken


def _stop_workers(shutdown_event: Any, workers: list[BaseProcess]) -> None:
    """Ask every worker to stop (gracefully: they finish their requests) and wait for them."""
    shutdown_event.set()
    for worker in workers:
        worker.join()
    workers.clear()
