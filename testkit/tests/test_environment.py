"""What a started process inherits."""

from __future__ import annotations

import pytest
from testkit.environment import bare_environ, scrubbed_environ


def test_the_stacks_own_settings_are_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DB_PORT", "BACKEND_WORKERS", "FRONTEND_PORT", "MYSQL_SOCKET", "DATABASE_URL"):
        monkeypatch.setenv(name, "from-the-shell")
    monkeypatch.setenv("LANG", "C.UTF-8")

    environ = scrubbed_environ(DB_PORT="3307")

    assert environ["DB_PORT"] == "3307"
    assert not {"BACKEND_WORKERS", "FRONTEND_PORT", "MYSQL_SOCKET", "DATABASE_URL"} & set(environ)
    assert environ["LANG"] == "C.UTF-8"
    assert environ["PC_DISABLE_DOTENV"] == "1"


def test_a_bare_environment_keeps_what_the_interpreter_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/nix/store/site-packages")
    monkeypatch.setenv("USERS_STACK_ROOT", "/src/users-stack")
    monkeypatch.setenv("DB_PORT", "1")

    environ = bare_environ(BACKEND_PORT="8081")

    assert environ == {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": "/nix/store/site-packages",
        "USERS_STACK_ROOT": "/src/users-stack",
        "BACKEND_PORT": "8081",
    }
