"""Hypercorn's worker processes and their master."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


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
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != master.pid:  # the master died before the line above
        os._exit(1)


def join_workers() -> None:
    """Wait for every worker: Hypercorn returns once the first one has stopped, while the
    others may still be finishing requests (and writing metrics) for the graceful timeout."""
    for worker in multiprocessing.active_children():
        worker.join()
