"""`make bench`: throughput, latency, start-up time and memory of the stack on this machine.

Everything runs on loopback, on free ports, against a throwaway database in a temporary
directory; every process started here is stopped at the end, also on failure or Ctrl-C.
Method and findings: bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LOAD_SCRIPT = BENCH / "load.lua"
sys.path.insert(0, str(ROOT / "tests"))  # running_stack: how the end-to-end tests start a stack

from testkit.environment import scrubbed_environ  # noqa: E402
from testkit.mysql import MySQLServer  # noqa: E402
from testkit.processes import ServerProcess  # noqa: E402
from testkit.procfs import descendants, resident_mib, stat  # noqa: E402
from testkit.project import scripts_dir  # noqa: E402
from testkit.services import run_backend_migrate, start_frontend  # noqa: E402

SEED_USERS = 1000
METRICS_PAIR = ("backend", "backend_no_metrics", "backend_2", "backend_no_metrics_2")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of one measurement (5)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per target (2)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per comparison (4)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="Hypercorn workers per service (default: one per core, as in production)",
    )
    parser.add_argument(
        "--wrk-cpu", default="", help="pin wrk to these CPUs (a taskset list); default: unpinned"
    )
    parser.add_argument("--skip-start", action="store_true", help="skip the start-up timings")
    parser.add_argument(
        "--output", type=Path, default=BENCH / "results", help="directory for the JSON result"
    )
    return parser.parse_args(argv)


# --- processes ---------------------------------------------------------------------------------


class BenchServer(ServerProcess):
    """A server configured like the backend: BACKEND_HOST, BACKEND_PORT and DB_* variables."""

    port_variables = ("BACKEND_PORT",)

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        super().__init__(name, command, {**env, "BACKEND_HOST": "127.0.0.1"}, logs / f"{name}.log")


def tree(pid: int) -> list[int]:
    return [pid, *sorted(descendants(pid))]


def cpu_seconds(pids: list[int]) -> float:
    """User plus system time the processes have used so far."""
    return sum(found.cpu_seconds for found in map(stat, pids) if found is not None)


class MemoryWatch:
    """Resident memory of each role's processes: idle now, and the peak while sampling."""

    def __init__(self, roles: dict[str, list[int]]) -> None:
        self.roles = roles
        self.idle = self.snapshot()
        self.peak = dict(self.idle)
        self._stop = threading.Event()

    def snapshot(self) -> dict[str, float]:
        return {role: sum(resident_mib(pid) for pid in pids) for role, pids in self.roles.items()}

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for role, mib in self.snapshot().items():
                self.peak[role] = max(self.peak[role], mib)

    @contextlib.contextmanager
    def sampling(self) -> Iterator[None]:
        self._stop.clear()
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        try:
            yield
        finally:
            self._stop.set()
            sampler.join()

    def report(self) -> dict[str, dict[str, float]]:
        return {
            role: {
                "processes": len(pids),
                "idle_mib": round(self.idle[role], 1),
                "load_mib": round(self.peak[role], 1),
            }
            for role, pids in self.roles.items()
        }


# --- database ----------------------------------------------------------------------------------


def start_database(stack: contextlib.ExitStack, workdir: Path) -> MySQLServer:
    """The project's own MySQL lifecycle scripts, in a temporary directory; 1,000 users."""
    server = MySQLServer(scripts_dir(), workdir / "mysql")
    server.workdir.mkdir()
    stack.callback(server.cleanup)
    server.start()
    server.setup()
    run_backend_migrate(server.db_env())
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO users (username, full_name, email) VALUES (%s, %s, %s)",
                [
                    (f"user{n:04d}", f"Seeded User {n}", f"user{n:04d}@example.com")
                    for n in range(1, SEED_USERS + 1)
                ],
            )
    finally:
        connection.close()
    return server


# --- load --------------------------------------------------------------------------------------


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


# --- start-up ----------------------------------------------------------------------------------


def measure_start_up(workdir: Path) -> dict[str, Any]:
    """`process-compose up` until every process is ready: empty data directory, then again."""
    from running_stack import ONE_SHOT, Stack

    if not (shutil.which("process-compose") or (ROOT / "bin" / "process-compose").exists()):
        return {"skipped": "process-compose is not installed (make bootstrap)"}

    class TimedStack(Stack):
        """Notes when each process first became ready (or completed), from its state polls."""

        began = 0.0
        reached: dict[str, float]

        def processes(self) -> dict[str, dict]:
            states = super().processes()
            now = time.monotonic() - self.began
            for name, state in states.items():
                if name in ONE_SHOT:
                    done = state.get("status") == "Completed"
                else:
                    done = state.get("is_ready") == "Ready"
                if done:
                    self.reached.setdefault(name, round(now, 2))
            return states

        def timed_up(self, label: str, **env: str) -> dict[str, Any]:
            self.began, self.reached = time.monotonic(), {}
            seconds = self.up(label, **env)
            return {"seconds": round(seconds, 2), "ready_at": dict(self.reached)}

    results: dict[str, Any] = {}
    stack = TimedStack(workdir / "stack")
    stack.workdir.mkdir()
    try:
        for label, mode in (
            ("cold", "production"),
            ("warm", "production"),
            ("warm_development", "development"),
        ):
            results[label] = stack.timed_up(label, STACK_MODE=mode)
            stack.down()
    finally:
        stack.cleanup()
    return results


# --- the run -----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "seconds": args.seconds,
            "warmup_seconds": args.warmup,
            "rounds": args.rounds,
            "connections": args.connections,
            "wrk_threads": 1,
            "wrk_cpu": args.wrk_cpu or "not pinned",
            "workers": args.workers,
            "db_pool_size": 10,
            "seed_users": SEED_USERS,
        },
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    logs = workdir / "logs"
    logs.mkdir()
    try:
        with contextlib.ExitStack() as stack:
            step("starting MySQL/MariaDB and seeding 1,000 users")
            database = start_database(stack, workdir)
            env = scrubbed_environ(**database.db_env(), BACKEND_WORKERS=str(args.workers))
            backend = [sys.executable, "-m", "backend.cli", "serve"]
            servers = {
                "backend": BenchServer("backend", backend, env, logs),
                # A second process of each kind for the metrics comparison: two processes of
                # one configuration differ by up to several percent (memory layout, hash
                # seeds), as much as the difference measured; two of each halve that.
                "backend_2": BenchServer("backend_2", backend, env, logs),
                "backend_no_metrics": BenchServer(
                    "backend_no_metrics", backend, {**env, "BACKEND_METRICS": "false"}, logs
                ),
                "backend_no_metrics_2": BenchServer(
                    "backend_no_metrics_2", backend, {**env, "BACKEND_METRICS": "false"}, logs
                ),
                "baseline": BenchServer(
                    "baseline", [sys.executable, str(BENCH / "baseline_app.py")], env, logs
                ),
                "quart": BenchServer(
                    "quart", [sys.executable, str(BENCH / "quart_app.py")], env, logs
                ),
            }
            step("starting the backend (metrics on, off), the baseline, bare Quart, the frontend")
            for server in servers.values():
                stack.callback(server.stop)
                server.start(
                    "/healthz" if server.name.startswith("backend") else "/api/v1/users/1", 60
                )
            frontend = start_frontend(servers["backend"].url, logs, workers=str(args.workers))
            stack.callback(frontend.stop)

            trees = {name: tree(server.pid) for name, server in servers.items()}
            trees["frontend"] = tree(frontend.pid)
            trees["mysqld"] = [database.process.pid]
            memory = MemoryWatch(
                {name: trees[name] for name in ("mysqld", "backend", "frontend", "baseline")}
            )
            load = Load(args, database.process.pid)
            with memory.sampling():
                urls = {name: server.url for name, server in servers.items()}
                report["results"] = measure(load, urls, trees, frontend.url, args)
            report["memory"] = memory.report()
        if not args.skip_start:
            step("timing process-compose up: cold (empty data directory), then warm, twice")
            report["start_up"] = measure_start_up(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def measure(
    load: Load,
    urls: dict[str, str],
    trees: dict[str, list[int]],
    frontend_url: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    users = str(SEED_USERS)
    results: dict[str, Any] = {}

    def get_user(name: str) -> Target:
        return Target(f"{urls[name]}/api/v1/users", lambda: ["user", users], trees[name])

    def list_users(name: str) -> Target:
        return Target(f"{urls[name]}/api/v1/users?limit=20", lambda: ["path"], trees[name])

    step("GET /api/v1/users/{id}: backend, baseline, bare Quart")
    results["get_user"] = compare(
        load, {name: get_user(name) for name in ("backend", "baseline", "quart")}, args
    )
    # A difference of a few percent needs more rounds than the others: twice as many, shorter
    # ones, over two processes of each configuration.
    step("GET /api/v1/users/{id}: backend with metrics and without, two processes of each")
    pairs = compare(
        load,
        {name: get_user(name) for name in METRICS_PAIR},
        args,
        rounds=2 * args.rounds,
        seconds=max(args.seconds // 2, 1),
    )
    results["metrics"] = {
        "backend": combine(pairs["backend"], pairs["backend_2"]),
        "backend_no_metrics": combine(pairs["backend_no_metrics"], pairs["backend_no_metrics_2"]),
    }
    step("GET /api/v1/users?limit=20: backend, baseline")
    results["list_users"] = compare(
        load, {name: list_users(name) for name in ("backend", "baseline")}, args
    )
    step("GET /users on the frontend, through the backend")
    frontend = Target(f"{frontend_url}/users", lambda: ["path"], trees["frontend"])
    results["frontend_list"] = compare(load, {"frontend": frontend}, args)
    # Last: every insert makes the table, and the list's total, bigger.
    step("POST /api/v1/users, a new username each time")
    runs = itertools.count(1)
    create = Target(
        f"{urls['backend']}/api/v1/users", lambda: ["create", str(next(runs))], trees["backend"]
    )
    results["create_user"] = compare(load, {"backend": create}, args)
    return results


def machine() -> dict[str, Any]:
    def first_line(*command: str) -> str:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        return (done.stdout or done.stderr).strip().splitlines()[0]

    server = shutil.which("mariadbd") or shutil.which("mysqld") or "mysqld"
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "database": first_line(server, "--version"),
        "wrk": first_line("wrk", "-v"),
    }


def step(message: str) -> None:
    print(f"--> {message}", file=sys.stderr, flush=True)


# --- report ------------------------------------------------------------------------------------

# (label in the table, key in "ratios", how it compares, target); None: no target, informative.
CHECKS = [
    ("backend / baseline, GET one user", "get_user_vs_baseline", ">=", 0.6),
    ("backend / baseline, GET a page of 20", "list_users_vs_baseline", ">=", 0.6),
    ("metrics on / off, GET one user", "metrics_on_vs_off", ">=", 0.97),
    ("bare Quart / baseline, GET one user", "quart_vs_baseline", "", None),
    ("backend / bare Quart, GET one user", "get_user_vs_quart", "", None),
]


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """Each ratio is the median of the rounds' ratios: both sides of one round ran seconds
    apart, so a drift of the machine's speed between rounds cancels out."""
    get, page = results["get_user"], results["list_users"]

    def ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
        pairs = zip(a["rps_rounds"], b["rps_rounds"], strict=True)
        return round(statistics.median(x / y for x, y in pairs), 3)

    return {
        "get_user_vs_baseline": ratio(get["backend"], get["baseline"]),
        "list_users_vs_baseline": ratio(page["backend"], page["baseline"]),
        "metrics_on_vs_off": ratio(
            results["metrics"]["backend"], results["metrics"]["backend_no_metrics"]
        ),
        "quart_vs_baseline": ratio(get["quart"], get["baseline"]),
        "get_user_vs_quart": ratio(get["backend"], get["quart"]),
    }


def print_table(report: dict[str, Any]) -> None:
    results, settings = report["results"], report["settings"]
    print(
        f"\nwrk: 1 thread, {settings['connections']} connections, {settings['seconds']} s per "
        f"run, median of {settings['rounds']} rounds; {settings['workers']} Hypercorn worker(s) "
        f"per service; {report['machine']['cpus']} CPUs shared by all processes"
    )
    rows = [
        ("GET /api/v1/users/{id}", "backend", results["get_user"]["backend"]),
        ("", "backend, metrics on *", results["metrics"]["backend"]),
        ("", "backend, metrics off *", results["metrics"]["backend_no_metrics"]),
        ("", "baseline (bare ASGI)", results["get_user"]["baseline"]),
        ("", "bare Quart route", results["get_user"]["quart"]),
        ("GET /api/v1/users?limit=20", "backend", results["list_users"]["backend"]),
        ("", "baseline (bare ASGI)", results["list_users"]["baseline"]),
        ("POST /api/v1/users", "backend", results["create_user"]["backend"]),
        ("GET /users", "frontend (+ backend)", results["frontend_list"]["frontend"]),
    ]
    print(
        f"{'request':<27}{'server':<22}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'CPU us/req':>11}{'mysqld':>8}{'failed':>7}"
    )
    for request, server, figures in rows:
        print(
            f"{request:<27}{server:<22}{figures['rps']:>7.0f}{figures['p50_ms']:>8.2f}"
            f"{figures['p99_ms']:>8.2f}{figures['server_cpu_us_per_request']:>11}"
            f"{figures['mysqld_cpu_us_per_request']:>8}{figures['failed']:>7}"
        )
    rounds = len(results["metrics"]["backend"]["rps_rounds"])
    print(
        f"* two processes of each, {rounds} alternating rounds of {settings['seconds'] // 2 or 1} s"
        " (averaged)"
    )
    print("CPU us/req: CPU time of the server's processes (and of mysqld) per request\n")
    for label, key, sense, target in CHECKS:
        value = report["ratios"][key]
        if target is None:
            print(f"{label:<40}{value:>8.3f}")
            continue
        met = value >= target if sense == ">=" else value <= target
        print(f"{label:<40}{value:>8.3f}   target {sense} {target:<5} {'met' if met else 'MISSED'}")
    start = report.get("start_up", {})
    if "skipped" in start:
        print(f"start-up: skipped ({start['skipped']})")
    for label in ("cold", "warm", "warm_development"):
        if label in start:
            seconds = start[label]["seconds"]
            verdict = ""
            if label == "warm":
                verdict = f"   target <= 3.0 {'met' if seconds <= 3.0 else 'MISSED'}"
            print(f"start-up, {label:<30}{seconds:>8.2f} s{verdict}")
            ready = ", ".join(f"{name} {at:.1f}" for name, at in start[label]["ready_at"].items())
            print(f"    ready at (s): {ready}")
    print(f"\n{'resident memory (MiB)':<27}{'processes':>10}{'idle':>9}{'load':>9}")
    for role, figures in report["memory"].items():
        print(
            f"{role:<27}{figures['processes']:>10}{figures['idle_mib']:>9.1f}"
            f"{figures['load_mib']:>9.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 127
    # SIGTERM ends the run as Ctrl-C does: through the clean-up of everything started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = time.monotonic()
    try:
        report = run(args)
    except KeyboardInterrupt:
        print("bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    report["ratios"] = ratios(report["results"])
    report["seconds"] = round(time.monotonic() - started, 1)
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"\n{report['seconds']:.0f} s in all; results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
