"""A Hypercorn worker leaves shutting down to its master; the master waits for its workers."""

import multiprocessing
import os
import signal

from servicekit.workers import join_workers, tie_worker_to_master


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
