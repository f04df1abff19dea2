"""`make profile`: where a server's CPU time goes under load, sampled by py-spy.

Starts MySQL/MariaDB with 1,000 users and one server (the backend or the frontend in front of
a backend, with the environment given by --env), puts wrk's load on one URL and records every
worker with py-spy (idle frames left out). Writes a speedscope profile per worker and prints the
functions with the most samples of their own (self) and in total (inclusive).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

from loadgen import Load, Target  # noqa: E402
from processes import SEED_USERS, BenchServer, start_database  # noqa: E402
from testkit.environment import scrubbed_environ  # noqa: E402
from testkit.services import FrontendProcess  # noqa: E402

PATHS = {
    "user": ("backend", "/api/v1/users", ["user", str(SEED_USERS)]),
    "create": ("backend", "/api/v1/users", ["create", "profile"]),
    "list": ("frontend", "/users", ["path"]),
    "home": ("frontend", "/", ["path"]),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/profile", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=sorted(PATHS), help="the request to profile")
    parser.add_argument("--seconds", type=int, default=10, help="length of the load (10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--workers", default="1", help="Hypercorn workers of the server (1)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    parser.add_argument("--top", type=int, default=25, help="functions to list (25)")
    parser.add_argument("--output", type=Path, default=BENCH / "results", help="profile files")
    return parser.parse_args(argv)


def record(pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy on one worker: raw (collapsed) stacks, one line per distinct stack."""
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(output),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def frame_label(frame: str) -> tuple[str, str]:
    """('function file.py:line', package) of one py-spy frame `function (path/file.py:line)`."""
    function, _, where = frame.partition(" (")
    where = where.rstrip(")")
    package = where.split("/", 1)[0] if "/" in where else where.split(".py", 1)[0]
    return f"{function} {where.rsplit('/', 1)[-1]}", package


def summarise(collapsed: list[Path], top: int) -> str:
    """The busiest functions by their own samples and with their callees, and per package."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    total = 0
    for path in collapsed:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = [frame_label(frame) for frame in stack.split(";")]
            samples = int(count)
            total += samples
            own[frames[-1][0]] += samples
            packages[frames[-1][1]] += samples
            for label in {label for label, _ in frames}:
                inclusive[label] += samples
    lines = [f"{total} samples (asyncio: a stack starts at the coroutine the loop resumed)"]
    for title, counter in (
        ("self", own),
        ("inclusive", inclusive),
        ("self, per package", packages),
    ):
        lines.append(f"\n{title}:")
        lines += [f"{100 * n / max(total, 1):6.1f} %  {key}" for key, n in counter.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    role, path, script = PATHS[args.what]
    extra = dict(item.split("=", 1) for item in args.env)
    args.output.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="profile-"))
    logs = workdir / "logs"
    logs.mkdir()
    with contextlib.ExitStack() as stack:
        database = start_database(stack, workdir)
        env = scrubbed_environ(**database.db_env(), BACKEND_WORKERS="2")
        backend_env = {
            **env,
            **(extra if role == "backend" else {}),
            "BACKEND_WORKERS": args.workers if role == "backend" else "2",
        }
        backend = BenchServer(
            "backend", [sys.executable, "-m", "backend.cli", "serve"], backend_env, logs
        )
        stack.callback(backend.stop)
        backend.start("/healthz", 60)
        server = backend
        if role == "frontend":
            server = FrontendProcess(
                backend.url, logs / "frontend.log", FRONTEND_WORKERS=args.workers, **extra
            ).start()
            stack.callback(server.stop)
        load = Load(
            argparse.Namespace(connections=args.connections, wrk_cpu=None), database.process.pid
        )
        target = Target(server.url + path, lambda: script)
        load.run(target, 2)  # warm up
        outputs = [
            args.output / f"profile-{args.what}-{pid}.txt"
            for pid in (server.workers() or [server.pid])
        ]
        spies = [record(int(out.stem.rsplit("-", 1)[1]), args.seconds, out) for out in outputs]
        result: dict = {}
        loader = threading.Thread(target=lambda: result.update(load.run(target, args.seconds)))
        loader.start()
        loader.join()
        for spy in spies:
            spy.wait(timeout=args.seconds + 30)
        print(f"{args.what}: {result.get('rps', 0):.0f} req/s under py-spy")
        print(summarise([out for out in outputs if out.exists()], args.top))
        print("collapsed stacks:", *map(str, outputs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
