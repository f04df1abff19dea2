"""Users REST API."""

import functools
from typing import Any


@functools.cache
def _installed_version() -> str:
    # importlib.metadata costs ~30 ms to import: only the workers (metrics, OpenAPI) ask.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("backend")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
