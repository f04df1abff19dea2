"""CPU time and resident memory of a whole server: its master and every worker.

prometheus_client's own process collector describes only the process that answers a scrape,
and none runs in multiprocess mode. This one reads /proc (Linux) for the server's master and
its children, so a single scrape gives the service's total whichever worker answers it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def server_pids() -> list[int]:
    """The master (this process's parent when it is a worker) and all its children."""
    parent = multiprocessing.parent_process()
    master = parent.pid if parent is not None and parent.pid else os.getpid()
    children: list[int] = []
    for task in (PROC / str(master) / "task").glob("*/children"):
        try:
            children += [int(pid) for pid in task.read_text().split()]
        except OSError:
            continue
    return [master, *children]


def _cpu_and_rss(pid: int) -> tuple[float, int] | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        statm = (PROC / str(pid) / "statm").read_text()
    except OSError:
        return None  # gone since it was listed
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
    user, system = int(fields[11]), int(fields[12])
    return (user + system) / TICKS_PER_SECOND, int(statm.split()[1]) * PAGE_SIZE


class ServerProcessCollector:
    def collect(self) -> Iterator[Metric]:
        if not PROC.is_dir():
            return
        figures = [f for f in map(_cpu_and_rss, server_pids()) if f is not None]
        cpu = CounterMetricFamily(
            "process_cpu_seconds", "CPU time of the server's processes (master and workers)."
        )
        cpu.add_metric([], sum(seconds for seconds, _ in figures))
        rss = GaugeMetricFamily(
            "process_resident_memory_bytes",
            "Resident memory of the server's processes (master and workers).",
        )
        rss.add_metric([], sum(resident for _, resident in figures))
        yield cpu
        yield rss
