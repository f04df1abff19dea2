"""What /proc says about a process: one reader for every test and the benchmark."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessStat:
    """The fields of /proc/PID/stat the tests use (see proc(5))."""

    state: str
    parent: int
    cpu_ticks: int  # user plus system time
    start_ticks: int  # since boot: with the pid, tells a process from a later one

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_ticks / CLOCK_TICKS


def stat(pid: int) -> ProcessStat | None:
    """The process's stat line; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    fields = text.rsplit(")", 1)[1].split()
    return ProcessStat(
        state=fields[0],
        parent=int(fields[1]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
        start_ticks=int(fields[19]),
    )


def is_running(pid: int) -> bool:
    """True for a live process; False once it is gone or a zombie waiting to be reaped."""
    found = stat(pid)
    return found is not None and found.state != "Z"


def start_time(pid: int) -> int | None:
    """When a live process started (clock ticks since boot); None once gone or a zombie."""
    found = stat(pid)
    return None if found is None or found.state == "Z" else found.start_ticks


def descendants(pid: int) -> set[int]:
    """Every process below `pid`."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = stat(int(entry.name))
            if found is not None:
                parents[int(entry.name)] = found.parent
    below: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - below
        below |= frontier
    return below


def command_line(pid: int) -> str | None:
    """The process's arguments joined by spaces; None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")


def server_role(pid: int, server_pids: Collection[int]) -> str:
    """What a process of a Python server's tree is: multiprocessing's "resource tracker", a
    Hypercorn "worker" (a child of another of `server_pids`: forked by the master, or spawned
    for the reloader) or the "master"."""
    if "resource_tracker" in (command_line(pid) or ""):
        return "resource tracker"
    found = stat(pid)
    return "worker" if found is not None and found.parent in server_pids else "master"


def resident_mib(pid: int) -> float:
    """Resident memory (VmRSS) in MiB; 0 once the process is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def proportional_mib(pid: int) -> float:
    """Proportional set size (Pss, smaps_rollup) in MiB: pages shared with other processes
    count by their share, so the figures of a process tree add up; 0 once it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


LOOPBACK = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it (hex, in the host's byte order)
LISTENING, ESTABLISHED = "0A", "01"  # the states of proc(5)


@dataclass(frozen=True)
class TcpSocket:
    """One line of /proc/net/tcp or tcp6; addresses as written there, `HEXADDRESS:HEXPORT`."""

    local: str
    remote: str
    state: str
    inode: str

    @property
    def local_port(self) -> int:
        return int(self.local.rsplit(":", 1)[1], 16)


def tcp_sockets() -> list[TcpSocket]:
    """Every TCP socket (IPv4 and IPv6) of this network namespace."""
    sockets = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(path).read_text().splitlines()[1:]:
            fields = line.split()
            sockets.append(TcpSocket(fields[1], fields[2], fields[3], fields[9]))
    return sockets


def connections_to(port: int) -> int:
    """How many TCP connections of this very process to 127.0.0.1:`port` are established."""
    mine = set()
    for descriptor in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(descriptor)
            if target.startswith("socket:["):
                mine.add(target[len("socket:[") : -1])
    return sum(
        1
        for found in tcp_sockets()
        if found.remote == f"{LOOPBACK}:{port:04X}"
        and found.state == ESTABLISHED
        and found.inode in mine
    )
