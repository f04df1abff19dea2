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
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT / "tests"))  # running_stack: how the end-to-end tests start a stack

from loadgen import Load, Target, combine, compare  # noqa: E402
from processes import (  # noqa: E402
    SEED_USERS,
    BenchServer,
    MemoryWatch,
    PageServer,
    start_database,
    tree,
)
from report import machine, print_table, ratios  # noqa: E402
from service_start import time_backend_starts, time_reloads  # noqa: E402
from testkit.environment import scrubbed_environ  # noqa: E402
from testkit.services import start_frontend  # noqa: E402
from testkit.trace_viewer import TraceViewer  # noqa: E402

PACKAGES = ("backend", "frontend", "servicekit")
METRICS_PAIR = ("backend", "backend_no_metrics", "backend_2", "backend_no_metrics_2")
# The code before tracing was added: "today's code" for the cost of tracing when it is off.
TRACING_BASE_REV = "bb6aefa"
# Off and sampled at 0.1 differ by a few percent: two processes of each, as for metrics. Every
# request traced is measured apart, afterwards: the viewer takes seconds of CPU to store one
# round of its spans, which would fall on the round measured after it.
TRACING_SET = (
    "backend_before_tracing",
    "backend",
    "backend_traced_ratio",
    "backend_2",
    "backend_traced_ratio_2",
)


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
        "--only",
        choices=["frontend-cache", "tracing", "pages", "start"],
        help="measure only this comparison (frontend-cache: answer cache on and off; tracing: "
        "the backend before tracing, with tracing off, on and sampled at 0.1; pages: the "
        "frontend's list and home pages against a bare Quart page; start: the backend's start "
        "and the live reload of both services, no load)",
    )
    parser.add_argument(
        "--tracing-base",
        default=TRACING_BASE_REV,
        help=f"the git revision whose backend is 'before tracing' ({TRACING_BASE_REV})",
    )
    parser.add_argument(
        "--code",
        metavar="REVISION",
        help="run every service from this git revision's sources (default: the working tree), "
        "to compare before and after a change with the same harness",
    )
    parser.add_argument(
        "--output", type=Path, default=BENCH / "results", help="directory for the JSON result"
    )
    return parser.parse_args(argv)


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
            if args.code:
                # Every child inherits it, the frontends started by testkit included.
                os.environ["PYTHONPATH"] = env["PYTHONPATH"] = source_path(args.code, workdir)
            else:
                compile_sources([ROOT / package / "src" for package in PACKAGES])
            backend = [sys.executable, "-m", "backend.cli", "serve"]
            # Every server of the load phase stops before the start-up timings, which then run
            # on a quiet machine, as the stack's start-up timing does (~20 idle processes and a
            # JVM share the 2 cores otherwise).
            with contextlib.ExitStack() as services:
                step("starting the trace collector and viewer; the backend before tracing")
                viewer = TraceViewer(logs).start()
                services.callback(viewer.stop)
                traced = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": viewer.otlp_endpoint}
                before_tracing = {**env, "PYTHONPATH": source_path(args.tracing_base, workdir)}
                sampled_at_a_tenth = {
                    **traced,
                    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                    "OTEL_TRACES_SAMPLER_ARG": "0.1",
                }
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
                    "backend_before_tracing": BenchServer(
                        "backend_before_tracing", backend, before_tracing, logs
                    ),
                    "backend_traced": BenchServer("backend_traced", backend, traced, logs),
                    **{
                        name: BenchServer(name, backend, sampled_at_a_tenth, logs)
                        for name in ("backend_traced_ratio", "backend_traced_ratio_2")
                    },
                    "baseline": BenchServer(
                        "baseline", [sys.executable, str(BENCH / "baseline_app.py")], env, logs
                    ),
                    "quart": BenchServer(
                        "quart", [sys.executable, str(BENCH / "quart_app.py")], env, logs
                    ),
                    "quart_page": PageServer(
                        "quart_page", [sys.executable, str(BENCH / "quart_page_app.py")], env, logs
                    ),
                }
                step("starting the backend (metrics on, off), the baseline, bare Quart, frontend")
                for server in servers.values():
                    services.callback(server.stop)
                    ready = "/api/v1/users/1"
                    if server.name.startswith("backend"):
                        ready = "/healthz"
                    elif server.name == "quart_page":
                        ready = "/users"
                    server.start(ready, 60)
                frontend = start_frontend(servers["backend"].url, logs, workers=str(args.workers))
                services.callback(frontend.stop)
                # Big enough for every seeded user: the best case of FRONTEND_BACKEND_CACHE_SIZE.
                cached_frontend = start_frontend(
                    servers["backend"].url,
                    logs,
                    workers=str(args.workers),
                    backend_cache_size=str(2 * SEED_USERS),
                )
                services.callback(cached_frontend.stop)

                trees = {name: tree(server.pid) for name, server in servers.items()}
                trees["frontend"] = tree(frontend.pid)
                trees["frontend_cached"] = tree(cached_frontend.pid)
                trees["mysqld"] = [database.process.pid]
                memory = MemoryWatch(
                    {name: trees[name] for name in ("mysqld", "backend", "frontend", "baseline")}
                )
                load = Load(args, database.process.pid)
                with memory.sampling():
                    urls = {name: server.url for name, server in servers.items()}
                    urls["frontend"], urls["frontend_cached"] = frontend.url, cached_frontend.url
                    report["results"] = measure(load, urls, trees, args)
                report["memory"] = memory.report()
                report["traces_in_viewer"] = viewer.trace_count("backend")
            if args.only == "start" or (args.only is None and not args.skip_start):
                step("backend serve: exec until /healthz answers, 5 times; live reload, 3 times")
                report["backend_start"] = time_backend_starts(env, logs, repeats=5)
                report["reload"] = {
                    "backend": time_reloads("backend", env, logs, workdir, repeats=3)
                }
                # The frontend in development talks to a running backend, as under `make up`.
                reload_backend = BenchServer("reload_backend", backend, env, logs)
                stack.callback(reload_backend.stop)
                reload_backend.start("/healthz", 60)
                report["reload"]["frontend"] = time_reloads(
                    "frontend",
                    {**env, "FRONTEND_BACKEND_URL": reload_backend.url},
                    logs,
                    workdir,
                    repeats=3,
                )
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
    args: argparse.Namespace,
) -> dict[str, Any]:
    users = str(SEED_USERS)
    results: dict[str, Any] = {}

    def path() -> list[str]:
        return ["path"]

    frontend_url = urls["frontend"]

    def get_user(name: str) -> Target:
        return Target(f"{urls[name]}/api/v1/users", lambda: ["user", users], trees[name])

    if args.only == "start":
        return results
    if args.only in (None, "pages"):
        step("frontend GET /users and GET / (through the backend), a bare Quart page")
        results["pages"] = compare(
            load,
            {
                "frontend_list": Target(f"{frontend_url}/users", path, trees["frontend"]),
                "frontend_home": Target(f"{frontend_url}/", path, trees["frontend"]),
                "quart_page": Target(f"{urls['quart_page']}/users", path, trees["quart_page"]),
            },
            args,
        )
        if args.only == "pages":
            return results
    if args.only != "frontend-cache":
        # Differences of a percent or two: twice as many rounds as the others, shorter ones.
        step("GET /api/v1/users/{id}: before tracing, tracing off, on (exported), sampled at 0.1")
        tracing = compare(
            load,
            {name: get_user(name) for name in TRACING_SET},
            args,
            rounds=2 * args.rounds,
            seconds=max(args.seconds // 2, 1),
        )
        every_request = compare(
            load,
            {name: get_user(name) for name in ("backend", "backend_traced")},
            args,
            rounds=2 * args.rounds,
            seconds=max(args.seconds // 2, 1),
        )
        results["tracing"] = {
            "backend_before_tracing": tracing["backend_before_tracing"],
            "backend": combine(tracing["backend"], tracing["backend_2"]),
            "backend_traced_ratio": combine(
                tracing["backend_traced_ratio"], tracing["backend_traced_ratio_2"]
            ),
            "backend_traced": every_request["backend_traced"],
            "backend_beside_traced": every_request["backend"],
        }
        if args.only == "tracing":
            return results

    step("frontend GET /users/{id} and GET /users, answer cache off and on")
    results["frontend_cache"] = {
        page: compare(
            load,
            {
                name: Target(f"{urls[name]}/users", mode, trees[name])
                for name in ("frontend", "frontend_cached")
            },
            args,
        )
        for page, mode in (("user", lambda: ["user", users]), ("list", lambda: ["path"]))
    }
    if args.only == "frontend-cache":
        return results

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
    # Last: every insert makes the table, and the list's total, bigger.
    step("POST /api/v1/users, a new username each time: backend, baseline")
    runs = itertools.count(1)

    def create(name: str) -> Target:
        return Target(
            f"{urls[name]}/api/v1/users", lambda: ["create", str(next(runs))], trees[name]
        )

    results["create_user"] = compare(
        load, {name: create(name) for name in ("backend", "baseline")}, args
    )
    return results


def source_path(revision: str, workdir: Path) -> str:
    """PYTHONPATH that runs the services and servicekit of `revision` with .venv's libraries."""
    target = workdir / f"source-{revision}"
    paths = [target / package / "src" for package in PACKAGES]
    if not target.exists():
        target.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, *(f"{p}/src" for p in PACKAGES)],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        compile_sources(paths)
    return ":".join(map(str, paths))


def compile_sources(paths: list[Path]) -> None:
    """Byte-compile the services' sources once, as an installed package is: with
    PYTHONDONTWRITEBYTECODE set (as in some CI images), a revision's fresh copy or a stale
    `__pycache__` would be compiled again in every start and cost it ~0.1 s."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, paths)], check=True)


def step(message: str) -> None:
    print(f"--> {message}", file=sys.stderr, flush=True)


# --- report ------------------------------------------------------------------------------------


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
