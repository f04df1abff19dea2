"""The directory prometheus_client's multiprocess mode shares between a server's workers.

prometheus_client reads PROMETHEUS_MULTIPROC_DIR when it is first imported, so the directory is
prepared before anything imports it, in the master, and the workers inherit the variable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def multiprocess_metrics_dir(enabled: bool, prefix: str) -> Iterator[Path | None]:
    """Point prometheus_client at a directory without samples from an earlier run.

    A configured PROMETHEUS_MULTIPROC_DIR is created if missing and emptied of `*.db` files
    (their values would be added to this run's) and kept on exit; otherwise a temporary
    directory is made and removed on exit. Without metrics the variable is unset, so every
    process keeps its figures in memory. The environment is restored on exit.
    """
    configured = os.environ.get(MULTIPROC_ENV)
    created: Path | None = None
    try:
        if not enabled:
            os.environ.pop(MULTIPROC_ENV, None)
            yield None
            return
        if configured:
            path = Path(configured)
            path.mkdir(parents=True, exist_ok=True)
            for stale in path.glob("*.db"):
                stale.unlink(missing_ok=True)
        else:
            path = created = Path(tempfile.mkdtemp(prefix=prefix))
            os.environ[MULTIPROC_ENV] = str(path)
        yield path
    finally:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        if configured is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = configured


def multiprocess_registry() -> CollectorRegistry:
    """The registry a scrape renders: every worker's files when they are shared, else this
    process's own (prometheus_client is imported here, never at this module's import)."""
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    from servicekit.process_metrics import ServerProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(ServerProcessCollector())
    return registry
