"""What a piece of code imports beyond a given set of modules, run in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

# argv: the modules to import first, then source code defining `async def main()`.
_SCRIPT = """
import asyncio, importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
before = set(sys.modules)
namespace = {}
exec(sys.argv[2], namespace)
asyncio.run(namespace["main"]())
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def modules_imported_after(imported: Sequence[str], code: str, env: dict[str, str]) -> list[str]:
    """The modules that `code`'s `main()` coroutine (and `code` itself) imports once `imported`
    are: what a forked worker would import on its own, when `imported` is its master's."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(list(imported)), code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])
