"""`make bench`: throughput, latency, start-up time and memory of the stack on this machine.

Everything runs on loopback, on free ports, against a throwaway database in a temporary
directory; every process started here is stopped at the end, also on failure or Ctrl-C.
Method and findings: bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
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
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LOAD_SCRIPT = BENCH / "load.lua"
sys.path.insert(0, str(ROOT / "tests"))  # running_stack: how the end-to-end tests start a stack

from backend.testing import MySQLServer, find_scripts_dir, free_port, wait_until  # noqa: E402
from frontend.testing import start_frontend  # noqa: E402

SEED_USERS = 1000
TARGETS = {"api_vs_baseline": 0.6, "metrics_tax": 0.97, "warm_start_seconds": 3.0}
# Variables of the caller's environment that would change what a started server does.
_OWN_PREFIXES = ("DB_", "BACKEND_", "MYSQL_", "FRONTEND_")
_OWN_NAMES = ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of one measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per target")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per comparison")
    parser.add_argument("--connections", type=int, default=32, help="wrk's open connections")
    parser.add_argument(
        "--workers", type=int, default=cores, help="Hypercorn workers per service (one per core)"
    )
    parser.add_argument(
        "--wrk-cpu",
        default="",
        help="pin wrk to these CPUs (taskset list, e.g. 1); default: not pinned",
    )
    parser.add_argument("--skip-start", action="store_true", help="skip the start-up timings")
    parser.add_argument(
        "--output", type=Path, default=BENCH / "results", help="directory for the JSON result"
    )
    return parser.parse_args(argv)


# --- processes ---------------------------------------------------------------------------------


def server_environ(**extra: str) -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_OWN_PREFIXES) and key not in _OWN_NAMES
    }
    environ.update(PYTHONUNBUFFERED="1", PC_DISABLE_DOTENV="1", **extra)
    return environ


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class Server:
    """An HTTP server process on a free loopback port, in a process group of its own."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = logs / f"{name}.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str) -> Server:
        self.port = free_port()
        env = {**self.env, "BACKEND_HOST": "127.0.0.1", "BACKEND_PORT": str(self.port)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            return http_status(self.url + ready_path) == 200

        wait_until(ready, 60, f"{self.name} to answer {ready_path}", 0.1)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()  # Hypercorn's graceful shutdown stops its workers too
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def process_tree(root: int) -> list[int]:
    """`root` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class MemoryWatch:
    """Resident memory of each role's process tree: once now, and the peak while sampling."""

    def __init__(self, roles: dict[str, int]) -> None:
        self.roles = roles
        self.peak: dict[str, float] = dict.fromkeys(roles, 0.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> dict[str, dict[str, Any]]:
        result = {}
        for role, root in self.roles.items():
            pids = process_tree(root)
            sizes = [rss_mib(pid) for pid in pids]
            result[role] = {"processes": len(pids), "total_mib": round(sum(sizes), 1)}
        return result

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            for role, figures in self.snapshot().items():
                self.peak[role] = max(self.peak[role], figures["total_mib"])

    @contextlib.contextmanager
    def sampling(self) -> Iterator[None]:
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._thread.join()


# --- database ------------------------------------------------------------------------------------


def start_database(stack: contextlib.ExitStack, workdir: Path) -> MySQLServer:
    server = MySQLServer(find_scripts_dir(), workdir / "mysql")
    server.workdir.mkdir()
    stack.callback(server.cleanup)
    server.start()
    server.setup()
    migrate = subprocess.run(
        [sys.executable, "-m", "backend.cli", "migrate"],
        env=server_environ(**server.db_env()),
        capture_output=True,
        text=True,
        check=False,
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"backend migrate failed: {migrate.stderr}")
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


class Load:
    """wrk with a fixed number of connections, one thread; results from bench/load.lua."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.connections = args.connections
        self.prefix = ["taskset", "-c", args.wrk_cpu] if args.wrk_cpu else []

    def run(self, url: str, seconds: int, *script_args: str) -> dict[str, Any]:
        command = [
            *self.prefix,
            "wrk",
            "--threads=1",
            f"--connections={self.connections}",
            f"--duration={seconds}s",
            "--timeout=10s",
            f"--script={LOAD_SCRIPT}",
            url,
            "--",
            *script_args,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        )
        line = [text for text in done.stdout.splitlines() if text.startswith("{")][-1]
        result = json.loads(line)
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        result["failed"] = sum(result.pop("errors").values())
        return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds (and the spread of the rates)."""
    return {
        "rps": round(statistics.median(run["rps"] for run in runs), 1),
        "p50_ms": round(statistics.median(run["p50_us"] for run in runs) / 1000, 2),
        "p99_ms": round(statistics.median(run["p99_us"] for run in runs) / 1000, 2),
        "rps_runs": [round(run["rps"], 1) for run in runs],
        "failed": sum(run["failed"] for run in runs),
    }


def compare(
    load: Load,
    targets: dict[str, Callable[[], tuple[str, list[str]]]],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    """Warm every target up, then measure them in turn, round after round (drift hits all)."""
    for make in targets.values():
        load.run(*_call(make, args.warmup))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for _round in range(args.rounds):
        for name, make in targets.items():
            runs[name].append(load.run(*_call(make, args.seconds)))
    return {name: summarise(results) for name, results in runs.items()}


def _call(make: Callable[[], tuple[str, list[str]]], seconds: int) -> tuple[Any, ...]:
    url, script_args = make()
    return (url, seconds, *script_args)


# --- start-up -----------------------------------------------------------------------------------


def measure_start_up(workdir: Path) -> dict[str, Any]:
    """`process-compose up` until every process is ready: empty data directory, then again."""
    from running_stack import ONE_SHOT, Stack

    if not (shutil.which("process-compose") or (ROOT / "bin" / "process-compose").exists()):
        return {"skipped": "process-compose is not installed (make bootstrap)"}

    class TimedStack(Stack):
        """Notes when each process first became ready (or completed), from its state polls."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.began = 0.0
            self.reached: dict[str, float] = {}

        def processes(self) -> dict[str, dict]:
            states = super().processes()
            now = time.monotonic() - self.began
            for name, state in states.items():
                done = state.get("status") == "Completed" if name in ONE_SHOT else None
                if done or (done is None and state.get("is_ready") == "Ready"):
                    self.reached.setdefault(name, round(now, 2))
            return states

        def timed_up(self, label: str, **env: str) -> dict[str, Any]:
            self.began, self.reached = time.monotonic(), {}
            seconds = self.up(label, **env)
            return {"seconds": round(seconds, 2), "phases": dict(self.reached)}

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
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    logs = workdir / "logs"
    logs.mkdir()
    load = Load(args)
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
            "seed_users": SEED_USERS,
        },
    }
    try:
        with contextlib.ExitStack() as stack:
            step("starting MySQL/MariaDB and seeding 1,000 users")
            database = start_database(stack, workdir)
            common = {**database.db_env(), "BACKEND_WORKERS": str(args.workers)}
            backend_command = [sys.executable, "-m", "backend.cli", "serve"]
            servers = {
                "backend": Server(
                    "backend", backend_command, server_environ(**common), logs
                ),
                "backend_no_metrics": Server(
                    "backend_no_metrics",
                    backend_command,
                    server_environ(**common, BACKEND_METRICS="false"),
                    logs,
                ),
                "baseline": Server(
                    "baseline",
                    [sys.executable, str(BENCH / "baseline_app.py")],
                    server_environ(**common),
                    logs,
                ),
            }
            step("starting the backend (metrics on and off), the baseline and the frontend")
            for server in servers.values():
                stack.callback(server.stop)
            servers["backend"].start("/healthz")
            servers["backend_no_metrics"].start("/healthz")
            servers["baseline"].start("/api/v1/users/1")
            frontend = start_frontend(servers["backend"].url, logs, workers=str(args.workers))
            stack.callback(frontend.stop)

            memory = MemoryWatch(
                {
                    "mysqld": database.process.pid,
                    "backend": servers["backend"].pid,
                    "frontend": frontend.process.pid,
                    "baseline": servers["baseline"].pid,
                }
            )
            idle = memory.snapshot()
            with memory.sampling():
                report["results"] = measure(load, servers, frontend.base_url, args)
            report["memory"] = {
                role: {**figures, "load_mib": round(memory.peak[role], 1)}
                for role, figures in idle.items()
            }
            for role in report["memory"]:
                report["memory"][role]["idle_mib"] = report["memory"][role].pop("total_mib")
        if not args.skip_start:
            step("timing process-compose up: cold (empty data directory), then warm")
            report["start_up"] = measure_start_up(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def measure(
    load: Load, servers: dict[str, Server], frontend_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    users = str(SEED_USERS)
    one = "/api/v1/users"
    page = "/api/v1/users?limit=20"
    results: dict[str, Any] = {}

    step("GET /api/v1/users/{id}: backend, baseline, backend without metrics")
    results["get_user"] = compare(
        load,
        {
            name: (lambda server=server: (server.url + one, ["user", users]))
            for name, server in servers.items()
        },
        args,
    )
    step("GET /api/v1/users?limit=20: backend, baseline")
    results["list_users"] = compare(
        load,
        {
            name: (lambda server=servers[name]: (server.url + page, ["path"]))
            for name in ("backend", "baseline")
        },
        args,
    )
    step("GET /users on the frontend (through the backend)")
    results["frontend_list"] = compare(
        load, {"frontend": lambda: (frontend_url + "/users", ["path"])}, args
    )
    # Last: every insert makes the table (and the list's total) bigger.
    step("POST /api/v1/users, unique usernames")
    runs = iter(range(1, 1000))
    results["create_user"] = compare(
        load,
        {"backend": lambda: (servers["backend"].url + one, ["create", str(next(runs))])},
        args,
    )
    return results


def machine() -> dict[str, Any]:
    server = shutil.which("mariadbd") or shutil.which("mysqld") or "mysqld"
    version = subprocess.run([server, "--version"], capture_output=True, text=True, check=False)
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "database": version.stdout.strip(),
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        .stdout.splitlines()[0]
        .strip(),
    }


def step(message: str) -> None:
    print(f"--> {message}", file=sys.stderr, flush=True)


# --- report ------------------------------------------------------------------------------------


def ratios(report: dict[str, Any]) -> dict[str, float]:
    results = report["results"]
    get, page = results["get_user"], results["list_users"]
    return {
        "get_user_vs_baseline": round(get["backend"]["rps"] / get["baseline"]["rps"], 3),
        "list_users_vs_baseline": round(page["backend"]["rps"] / page["baseline"]["rps"], 3),
        "metrics_on_vs_off": round(
            get["backend"]["rps"] / get["backend_no_metrics"]["rps"], 3
        ),
    }


def print_table(report: dict[str, Any]) -> None:
    results, ratio = report["results"], report["ratios"]
    settings = report["settings"]
    print(
        f"\nwrk: {settings['connections']} connections, 1 thread, {settings['seconds']} s x "
        f"{settings['rounds']} rounds (medians); {settings['workers']} Hypercorn worker(s) "
        f"per service; {report['machine']['cpus']} CPUs shared by everything"
    )
    rows = [
        ("GET /api/v1/users/{id}", "backend", results["get_user"]["backend"]),
        ("", "backend, metrics off", results["get_user"]["backend_no_metrics"]),
        ("", "baseline (bare ASGI)", results["get_user"]["baseline"]),
        ("GET /api/v1/users?limit=20", "backend", results["list_users"]["backend"]),
        ("", "baseline (bare ASGI)", results["list_users"]["baseline"]),
        ("POST /api/v1/users", "backend", results["create_user"]["backend"]),
        ("GET /users (frontend)", "frontend -> backend", results["frontend_list"]["frontend"]),
    ]
    print(f"{'request':<28}{'server':<23}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}")
    for request, server, figures in rows:
        print(
            f"{request:<28}{server:<23}{figures['rps']:>9.0f}{figures['p50_ms']:>9.2f}"
            f"{figures['p99_ms']:>9.2f}{figures['failed']:>8}"
        )
    print()
    checks = [
        ("backend / baseline, GET one user", ratio["get_user_vs_baseline"], ">=", 0.6),
        ("backend / baseline, GET a page", ratio["list_users_vs_baseline"], ">=", 0.6),
        ("metrics on / off, GET one user", ratio["metrics_on_vs_off"], ">=", 0.97),
    ]
    start = report.get("start_up", {})
    if "warm" in start:
        checks.append(("warm start, seconds", start["warm"]["seconds"], "<=", 3.0))
    for label, value, sense, target in checks:
        met = value >= target if sense == ">=" else value <= target
        print(f"{label:<40}{value:>8.3f}   target {sense} {target:<5} {'met' if met else 'MISSED'}")
    if "skipped" in start:
        print(f"start-up: skipped ({start['skipped']})")
    for label in ("cold", "warm", "warm_development"):
        if label in start:
            phases = ", ".join(f"{name} {at:.1f}" for name, at in start[label]["phases"].items())
            print(f"start-up {label:<17}{start[label]['seconds']:>6.2f} s   ({phases})")
    print(f"\n{'memory (RSS, MiB)':<28}{'processes':>10}{'idle':>9}{'load':>9}")
    for role, figures in report["memory"].items():
        print(
            f"{role:<28}{figures['processes']:>10}{figures['idle_mib']:>9.1f}"
            f"{figures['load_mib']:>9.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 127
    # SIGTERM ends the run like Ctrl-C: through the clean-up of everything started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = time.monotonic()
    try:
        report = run(args)
    except KeyboardInterrupt:
        print("bench: interrupted; everything started was stopped", file=sys.stderr)
        return 130
    report["ratios"] = ratios(report)
    report["seconds"] = round(time.monotonic() - started, 1)
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"\n{report['seconds']:.0f} s in all; results in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
