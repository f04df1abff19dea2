"""Load from wrk, and how rounds of it are summarised and compared."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processes import cpu_seconds

LOAD_SCRIPT = Path(__file__).resolve().parent / "load.lua"


@dataclass
class Target:
    """What wrk requests (URL, and the arguments of bench/load.lua) and who answers it."""

    url: str
    script: Callable[[], list[str]]
    server_pids: list[int] = field(default_factory=list)


class Load:
    """wrk: one thread, a fixed number of connections; results from bench/load.lua's summary.

    Also the CPU time the server's processes and mysqld used per request during the run:
    unlike requests per second, it hardly depends on what else the machine was doing.
    """

    def __init__(self, args: argparse.Namespace, database_pid: int) -> None:
        self.connections = args.connections
        self.prefix = ["taskset", "-c", args.wrk_cpu] if args.wrk_cpu else []
        self.database_pids = [database_pid]

    def run(self, target: Target, seconds: int) -> dict[str, Any]:
        command = [
            *self.prefix,
            "wrk",
            "--threads=1",
            f"--connections={self.connections}",
            f"--duration={seconds}s",
            "--timeout=10s",
            f"--script={LOAD_SCRIPT}",
            target.url,
            "--",
            *target.script(),
        ]
        server_before = cpu_seconds(target.server_pids)
        database_before = cpu_seconds(self.database_pids)
        done = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        )
        server_cpu = cpu_seconds(target.server_pids) - server_before
        database_cpu = cpu_seconds(self.database_pids) - database_before
        result = json.loads([line for line in done.stdout.splitlines() if line[:1] == "{"][-1])
        requests = max(result["requests"], 1)
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        result["failed"] = sum(result.pop("errors").values())
        result["server_cpu_us"] = server_cpu / requests * 1e6
        result["mysqld_cpu_us"] = database_cpu / requests * 1e6
        return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds, and every round's rate to show the spread."""

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    return {
        "rps": round(median("rps"), 1),
        "p50_ms": round(median("p50_us") / 1000, 2),
        "p99_ms": round(median("p99_us") / 1000, 2),
        "server_cpu_us_per_request": round(median("server_cpu_us")),
        "mysqld_cpu_us_per_request": round(median("mysqld_cpu_us")),
        "rps_rounds": [round(run["rps"], 1) for run in runs],
        "failed": sum(run["failed"] for run in runs),
    }


def combine(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two processes of one configuration as one: every figure averaged, round by round."""
    averaged = ("p50_ms", "p99_ms", "server_cpu_us_per_request", "mysqld_cpu_us_per_request")
    combined = {key: round((first[key] + second[key]) / 2, 2) for key in averaged}
    pairs = zip(first["rps_rounds"], second["rps_rounds"], strict=True)
    rounds = [(a + b) / 2 for a, b in pairs]
    combined.update(
        rps=round(statistics.median(rounds), 1),
        rps_rounds=[round(rate, 1) for rate in rounds],
        failed=first["failed"] + second["failed"],
        server_cpu_us_per_request=round(combined["server_cpu_us_per_request"]),
        mysqld_cpu_us_per_request=round(combined["mysqld_cpu_us_per_request"]),
    )
    return combined


def compare(
    load: Load,
    targets: dict[str, Target],
    args: argparse.Namespace,
    *,
    rounds: int | None = None,
    seconds: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Warm every target up, then measure them in turn, round after round, so that a drift
    of the machine's speed affects all of them alike."""
    for target in targets.values():
        load.run(target, args.warmup)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for _round in range(rounds or args.rounds):
        for name, target in targets.items():
            runs[name].append(load.run(target, seconds or args.seconds))
    return {name: summarise(results) for name, results in runs.items()}
