"""Where the checkout is: the stack's scripts are run from it, as `make up` runs them."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """$USERS_STACK_ROOT (set by the Nix dev shell and checks), else the checkout around us."""
    configured = os.environ.get("USERS_STACK_ROOT")
    if configured:
        return Path(configured)
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "scripts" / "mysql-run").is_file():
                return folder
    raise FileNotFoundError("cannot find the checkout (scripts/mysql-run): set USERS_STACK_ROOT")


def scripts_dir() -> Path:
    return project_root() / "scripts"
