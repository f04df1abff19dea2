"""The environment a process started by a test gets.

A developer's exported settings (DB_PORT, BACKEND_WORKERS, a .env ...) must never move a test's
server onto the ports or data of their running stack, nor change what it does.
"""

from __future__ import annotations

import os

OWN_PREFIXES = ("DB_", "BACKEND_", "FRONTEND_", "MYSQL_", "OTEL_")
OWN_NAMES = frozenset({"DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"})
# What an interpreter needs to find its packages: PYTHONPATH in Nix package builds,
# USERS_STACK_ROOT for the editable installs of `nix develop` and the Nix checks.
INTERPRETER_VARIABLES = ("PYTHONPATH", "USERS_STACK_ROOT", "PYTHONHOME")


def is_own(name: str) -> bool:
    """Whether a variable configures the stack (and so must come from the test)."""
    return name in OWN_NAMES or name.startswith(OWN_PREFIXES)


def scrubbed_environ(**extra: str) -> dict[str, str]:
    """The test runner's environment without the stack's settings, plus `extra`."""
    environ = {name: value for name, value in os.environ.items() if not is_own(name)}
    # The stack scripts read the project's .env unless told not to.
    environ.update(PC_DISABLE_DOTENV="1", PYTHONUNBUFFERED="1")
    environ.update(extra)
    return environ


def bare_environ(**extra: str) -> dict[str, str]:
    """A minimal environment, as a container's health probe has, plus `extra`.

    Only what the interpreter needs to import the packages is kept.
    """
    environ = {"PATH": "/usr/bin:/bin"}
    environ.update({name: os.environ[name] for name in INTERPRETER_VARIABLES if name in os.environ})
    environ.update(extra)
    return environ
