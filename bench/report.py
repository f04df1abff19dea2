"""What the benchmark prints: the machine, the ratios against their targets, the table."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
from typing import Any


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


# (label in the table, key in "ratios", how it compares, target); None: no target, informative.
CHECKS = [
    ("backend / baseline, GET one user", "get_user_vs_baseline", ">=", 0.6),
    ("backend / baseline, GET a page of 20", "list_users_vs_baseline", ">=", 0.6),
    ("metrics on / off, GET one user", "metrics_on_vs_off", ">=", 0.97),
    ("bare Quart / baseline, GET one user", "quart_vs_baseline", "", None),
    ("backend / bare Quart, GET one user", "get_user_vs_quart", "", None),
    ("tracing off / before tracing, GET one user", "tracing_off_vs_before", ">=", 0.99),
    ("tracing on, exported / off, GET one user", "tracing_on_vs_off", "", None),
    ("sampled at 0.1 / off, GET one user", "tracing_ratio_vs_off", ">=", 0.95),
    ("frontend /users / bare Quart page", "list_page_vs_quart_page", ">=", 0.5),
    ("frontend home / frontend /users", "home_vs_list_page", ">=", 1.0),
    ("backend / baseline, POST a user", "create_user_vs_baseline", ">=", 0.6),
    ("answer cache on / off, /users/{id}", "frontend_cache_user_on_vs_off", "", None),
    ("answer cache on / off, /users", "frontend_cache_list_on_vs_off", "", None),
]


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """Each ratio is the median of the rounds' ratios: both sides of one round ran seconds
    apart, so a drift of the machine's speed between rounds cancels out."""

    def ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
        pairs = zip(a["rps_rounds"], b["rps_rounds"], strict=True)
        return round(statistics.median(x / y for x, y in pairs), 3)

    found: dict[str, float] = {}
    if "tracing" in results:
        tracing = results["tracing"]
        found |= {
            "tracing_off_vs_before": ratio(tracing["backend"], tracing["backend_before_tracing"]),
            "tracing_on_vs_off": ratio(tracing["backend_traced"], tracing["backend_beside_traced"]),
            "tracing_ratio_vs_off": ratio(tracing["backend_traced_ratio"], tracing["backend"]),
        }
    if "frontend_cache" in results:
        cache = results["frontend_cache"]
        found |= {
            f"frontend_cache_{page}_on_vs_off": ratio(
                cache[page]["frontend_cached"], cache[page]["frontend"]
            )
            for page in ("user", "list")
        }
    if "pages" in results:
        pages = results["pages"]
        found |= {
            "list_page_vs_quart_page": ratio(pages["frontend_list"], pages["quart_page"]),
            "home_vs_list_page": ratio(pages["frontend_home"], pages["frontend_list"]),
        }
    if "get_user" not in results:  # bench/run --only ...
        return found
    get, page = results["get_user"], results["list_users"]
    create = results["create_user"]
    return found | {
        "create_user_vs_baseline": ratio(create["backend"], create["baseline"]),
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
    rows = []
    if "tracing" in results:
        tracing = results["tracing"]
        rows += [
            ("GET /api/v1/users/{id}", "before tracing *", tracing["backend_before_tracing"]),
            ("", "tracing off *", tracing["backend"]),
            ("", "sampled at 0.1 *", tracing["backend_traced_ratio"]),
            ("", "tracing off **", tracing["backend_beside_traced"]),
            ("", "tracing on, exported **", tracing["backend_traced"]),
        ]
    if "frontend_cache" in results:
        cache = results["frontend_cache"]
        rows += [
            ("GET /users/{id}", "frontend, cache off", cache["user"]["frontend"]),
            ("", "frontend, cache on", cache["user"]["frontend_cached"]),
            ("GET /users", "frontend, cache off", cache["list"]["frontend"]),
            ("", "frontend, cache on", cache["list"]["frontend_cached"]),
        ]
    if "pages" in results:
        pages = results["pages"]
        rows += [
            ("GET /users", "frontend (+ backend)", pages["frontend_list"]),
            ("", "bare Quart page", pages["quart_page"]),
            ("GET /", "frontend (+ backend)", pages["frontend_home"]),
        ]
    if "get_user" in results:
        rows += [
            ("GET /api/v1/users/{id}", "backend", results["get_user"]["backend"]),
            ("", "backend, metrics on *", results["metrics"]["backend"]),
            ("", "backend, metrics off *", results["metrics"]["backend_no_metrics"]),
            ("", "baseline (bare ASGI)", results["get_user"]["baseline"]),
            ("", "bare Quart route", results["get_user"]["quart"]),
            ("GET /api/v1/users?limit=20", "backend", results["list_users"]["backend"]),
            ("", "baseline (bare ASGI)", results["list_users"]["baseline"]),
            ("POST /api/v1/users", "backend", results["create_user"]["backend"]),
            ("", "baseline (bare ASGI)", results["create_user"]["baseline"]),
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
    if "metrics" in results:
        rounds = len(results["metrics"]["backend"]["rps_rounds"])
        print(
            f"* metrics: two processes of each, {rounds} alternating rounds of "
            f"{settings['seconds'] // 2 or 1} s (averaged)"
        )
    if "tracing" in results:
        rounds = len(results["tracing"]["backend"]["rps_rounds"])
        print(
            f"* tracing: {rounds} alternating rounds of {settings['seconds'] // 2 or 1} s, off and "
            "sampled at 0.1 two processes of each (averaged); ** then on and off alone; "
            f"backend traces in the viewer: {report.get('traces_in_viewer', 'n/a')}"
        )
    print("CPU us/req: CPU time of the server's processes (and of mysqld) per request\n")
    for label, key, sense, target in CHECKS:
        if key not in report["ratios"]:
            continue
        value = report["ratios"][key]
        if target is None:
            print(f"{label:<40}{value:>8.3f}")
            continue
        met = value >= target if sense == ">=" else value <= target
        print(f"{label:<40}{value:>8.3f}   target {sense} {target:<5} {verdict(met)}")
    if "pages" in results:
        p99 = results["pages"]["frontend_list"]["p99_ms"]
        print(f"{'frontend /users p99 (ms)':<40}{p99:>8.1f}   target <= 150  {verdict(p99 <= 150)}")
    start = report.get("start_up", {})
    if "skipped" in start:
        print(f"start-up: skipped ({start['skipped']})")
    for label in ("cold", "warm", "warm_development"):
        if label in start:
            seconds = start[label]["seconds"]
            target = f"   target <= 2.0 {verdict(seconds <= 2.0)}" if label == "warm" else ""
            print(f"start-up, {label:<30}{seconds:>8.2f} s{target}")
            ready = ", ".join(f"{name} {at:.1f}" for name, at in start[label]["ready_at"].items())
            print(f"    ready at (s): {ready}")
    if "backend_start" in report:
        seconds = report["backend_start"]["median"]
        print(
            f"{'backend serve: exec to /healthz 200':<40}{seconds:>8.2f} s   target <= 0.5 "
            f"{verdict(seconds <= 0.5)}  ({report['backend_start']['seconds']})"
        )
    for service, reload in report.get("reload", {}).items():
        seconds = reload["median"]
        label = f"{service}: save a .py to new code answering"
        print(
            f"{label:<40}{seconds:>8.2f} s   target <= 1.5 {verdict(seconds <= 1.5)}"
            f"  ({reload['seconds']})"
        )
    memory = report["memory"]
    print(f"\n{'memory (MiB)':<27}{'processes':>10}{'RSS idle':>9}{'load':>9}{'PSS idle':>9}")
    for role, figures in memory.items():
        print(
            f"{role:<27}{figures['processes']:>10}{figures['idle_mib']:>9.1f}"
            f"{figures['load_mib']:>9.1f}{figures['idle_pss_mib']:>9.1f}"
        )
        if role in ("backend", "frontend"):
            shares = ", ".join(f"{kind} {mib:.0f}" for kind, mib in figures["idle_pss_per_process"])
            print(f"    PSS per process: {shares}")
    stack = sum(memory[role]["idle_pss_mib"] for role in ("mysqld", "backend", "frontend"))
    print(f"{'whole stack, PSS idle':<46}{stack:>9.1f}   target <= 300 {verdict(stack <= 300)}")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"
