"""The README is followed literally by people new to the project: its commands must work."""

from __future__ import annotations

import re
import subprocess

import pytest
from running_stack import ROOT, Stack

README = (ROOT / "README.md").read_text()
MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)


def curl_examples() -> list[str]:
    """Each `curl` command of the API section, with its continuation lines joined."""
    commands = []
    for block in shell_blocks():
        joined = block.replace("\\\n", " ")
        commands += [line.strip() for line in joined.splitlines() if line.startswith("curl ")]
    return commands


def test_every_make_target_in_the_readme_exists() -> None:
    mentioned = set(re.findall(r"`make ([a-z][a-z-]*)", README))
    assert mentioned, "the README names make targets"
    assert mentioned <= MAKE_TARGETS, mentioned - MAKE_TARGETS


def test_every_repository_path_in_the_readme_exists() -> None:
    paths = set(
        re.findall(r"`((?:backend|frontend|scripts|tests|postman|nix|tools|bench)/[^` ]*)`", README)
    )
    paths |= set(re.findall(r"\]\(((?!https?:|#)[^)]+)\)", README))
    missing = sorted(path for path in paths if not (ROOT / path.rstrip("/")).exists())
    # A migration the README invents as an example of adding one.
    assert missing == ["backend/src/backend/migrations/0002_add_user_phone.sql"]


def test_the_readme_has_a_mermaid_architecture_diagram() -> None:
    diagram = re.search(r"```mermaid\n(.*?)```", README, flags=re.DOTALL)
    assert diagram
    for part in (":8000", ":8001", ":8080", ":3306", "process-compose", "Nix", "OCI"):
        assert part in diagram.group(1)


@pytest.mark.parametrize("command", curl_examples())
def test_curl_examples_work_against_the_stack(stack: Stack, command: str) -> None:
    """Run as written, only pointed at the test stack's port instead of 8080."""
    result = subprocess.run(
        ["bash", "-c", command.replace("http://localhost:8080", stack.backend_url)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    status = int(result.stdout.split()[1])
    if "not-an-email" in command:
        assert status == 422
    else:
        assert status < 500, result.stdout
