"""What tracing costs the backend in one process: no HTTP server, no second worker, no wrk.

The backend app is driven through its ASGI interface, `--concurrency` requests at a time, for
`GET /api/v1/users/{id}` against a throwaway database, exporting to the collector of
`testkit.trace_viewer`. Tracing off, ratio 0 and ratio 0.1 alternate in short blocks in the
same process (the SDK is stopped and started between them), in a new order every round (the
machine's speed drifts, and a fixed order can let the drift fall on one mode), and the CPU time
of the process (the export thread included) per request is compared block by block: what is
left over is the SDK's own cost, without the split of connections between workers that moves
the served comparison from one process start to the next.

    .venv/bin/python bench/tracing_in_process.py [--concurrency 16] [--rounds 60]
        [--requests 400] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from processes import SEED_USERS, start_database  # noqa: E402
from testkit.environment import scrubbed_environ  # noqa: E402
from testkit.trace_viewer import TraceViewer  # noqa: E402

MODES = {"off": None, "ratio 0": "0", "ratio 0.1": "0.1"}
SAMPLER_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
)


def request_scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
        "extensions": {},
    }


class RequestBody:
    """An ASGI `receive`: the (empty) body once, then nothing until the app cancels it."""

    def __init__(self) -> None:
        self.sent = False

    async def __call__(self) -> dict[str, Any]:
        if not self.sent:
            self.sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def measure(
    args: argparse.Namespace, otlp_endpoint: str, devnull: TextIO
) -> dict[str, list[float]]:
    from backend.app import create_app

    from servicekit import tracing

    app = create_app()
    # The log lines are formatted as served, and written where nobody waits on them.
    logging.getLogger().handlers[0].setStream(devnull)
    await app.startup()
    scope = request_scope(f"/api/v1/users/{SEED_USERS // 2}")
    statuses: set[int] = set()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    async def requests(count: int) -> int:
        """Make about `count` requests, `args.concurrency` at a time; how many were made."""

        async def one_at_a_time(share: int) -> None:
            for _ in range(share):
                await app(dict(scope), RequestBody(), send)

        share = count // args.concurrency
        await asyncio.gather(*(one_at_a_time(share) for _ in range(args.concurrency)))
        return share * args.concurrency

    def trace_with(ratio: str | None) -> None:
        tracing.stop_tracing()
        for name in SAMPLER_VARIABLES:
            os.environ.pop(name, None)
        if ratio is not None:
            os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
            os.environ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
            os.environ["OTEL_TRACES_SAMPLER_ARG"] = ratio
            tracing.start_tracing("backend")

    cpu_per_request: dict[str, list[float]] = {mode: [] for mode in MODES}
    orders = random.Random(args.seed)  # noqa: S311 (an order of blocks, not a secret)
    try:
        for _ in range(args.rounds):
            order = list(MODES.items())
            orders.shuffle(order)
            for mode, ratio in order:
                trace_with(ratio)
                await requests(args.requests // 5)  # warm-up
                started = time.process_time()
                made = await requests(args.requests)
                spent = time.process_time() - started
                cpu_per_request[mode].append(1e6 * spent / made)
    finally:
        trace_with(None)
        await app.shutdown()
    if statuses != {200}:
        raise SystemExit(f"the app answered {sorted(statuses)}, not only 200")
    return cpu_per_request


def report(cpu_per_request: dict[str, list[float]]) -> None:
    off = cpu_per_request["off"]
    for mode, values in cpu_per_request.items():
        line = f"{mode:10s} CPU per request: median {statistics.median(values):6.1f} µs"
        if mode != "off":
            # Off's CPU ÷ this mode's, block by block: the throughput ratio one core would give.
            ratios = [before / after for before, after in zip(off, values, strict=True)]
            line += f"; off ÷ {mode}, median of the rounds: {statistics.median(ratios):.3f}"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16, help="requests at a time (16)")
    parser.add_argument("--rounds", type=int, default=60, help="blocks per mode (60)")
    parser.add_argument("--requests", type=int, default=400, help="requests per block (400)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the rounds' orders (1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as stack:
        workdir = Path(directory)
        logs = workdir / "logs"
        logs.mkdir()
        database = start_database(stack, workdir)
        os.environ.clear()
        os.environ.update(scrubbed_environ(**database.db_env()))
        viewer = TraceViewer(logs).start()
        stack.callback(viewer.stop)
        devnull = stack.enter_context(open(os.devnull, "w"))
        report(asyncio.run(measure(args, viewer.otlp_endpoint, devnull)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
