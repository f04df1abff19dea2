"""Evaluating flake.nix against a stub nixpkgs, and reading what it passes to the builders.

No nixpkgs is needed: tests/nix/stub-nixpkgs.nix stands in for it, and every builder there
returns its arguments instead of a derivation. `nix-instantiate --eval` (pure evaluation, no
store, no builds, no file read outside the repository) turns flake.nix's outputs into JSON
(tests/nix/eval-flake.nix), where each derivation is {stub, name, path, args}. What this
cannot tell (real builds, the pinned versions) is listed in nix/README.md.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
EVAL_FLAKE = REPO / "tests" / "nix" / "eval-flake.nix"
STUB_NIXPKGS = REPO / "tests" / "nix" / "stub-nixpkgs.nix"
NIX_INSTANTIATE = shutil.which("nix-instantiate")
LINUX = ("x86_64-linux", "aarch64-linux")
DARWIN = ("x86_64-darwin", "aarch64-darwin")
SYSTEMS = LINUX + DARWIN
SERVICES = ("backend", "frontend")
OWN_PACKAGES = ("servicekit", "testkit", *SERVICES)
# Builders that hand their attributes to the build script as environment variables.
ENV_BUILDERS = {
    "buildPythonPackage",
    "buildPythonApplication",
    "runCommand",
    "mkShell",
}
# Attributes mkDerivation keeps for itself instead of passing them to the builder.
NOT_PASSED_TO_THE_BUILDER = {"meta", "passthru"}
# A character that a split on whitespace, or an `eval` as in the pytestFlagsArray layer, changes.
MANGLED = re.compile(r"[\s\"'$\\`]")


def run_nix_eval(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`nix-instantiate --eval --strict --json`, reading only files of this repository."""
    if NIX_INSTANTIATE is None:
        pytest.skip("nix-instantiate is not on PATH (Debian: apt-get install nix-bin)")
    return subprocess.run(
        [
            NIX_INSTANTIATE,
            "--eval",
            "--strict",
            "--json",
            "--readonly-mode",
            "--option",
            "restrict-eval",
            "true",
            "-I",
            str(REPO),
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def nix_eval(*arguments: str) -> Any:
    """The evaluated value, as JSON; the evaluation must succeed."""
    result = run_nix_eval(*arguments)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def nix_eval_error(*arguments: str) -> str:
    """The error message of an evaluation that must fail."""
    result = run_nix_eval(*arguments)
    assert result.returncode != 0, f"evaluated to {result.stdout}"
    return result.stderr


def flake_outputs() -> dict[str, Any]:
    """flake.nix's outputs, evaluated through tests/nix/eval-flake.nix."""
    return nix_eval(str(EVAL_FLAKE))["outputs"]


def derivations(value: Any) -> Iterator[dict[str, Any]]:
    """Every stub derivation in an evaluated value, its arguments' derivations included."""
    if isinstance(value, dict):
        if "stub" in value:
            yield value
        for item in value.values():
            yield from derivations(item)
    elif isinstance(value, list):
        for item in value:
            yield from derivations(item)


def runtime_closure(drv: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A derivation and, recursively, its Python runtime dependencies (not its check inputs)."""
    yield drv
    for dependency in drv["args"].get("dependencies", []):
        yield from runtime_closure(dependency)


def pname(drv: dict[str, Any]) -> str:
    return drv["args"].get("pname") or drv["name"].removeprefix("python3.13-")


def named(drvs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [drv for drv in drvs if pname(drv) == name]


def as_builder_string(item: Any) -> str:
    """How Nix turns one list element into text for the builder's environment."""
    if isinstance(item, dict) and "path" in item:
        return item["path"]
    if isinstance(item, bool):
        return "1" if item else ""
    return str(item)


def lists_mangled_by_the_builder(args: dict[str, Any]) -> dict[str, list[str]]:
    """The list attributes that would not reach the build hooks element for element.

    Without __structuredAttrs a list attribute reaches the builder as one environment variable,
    its elements joined by spaces; the hooks split it on whitespace again (`concatTo` in
    pkgs/stdenv/generic/setup.sh), and a few `eval` it, where quotes, `$` and backslashes act.
    `pytestFlags = [ "-m" "not integration" ]` came back as `-m`, `not`, `integration`.
    """
    if args.get("__structuredAttrs"):
        return {}
    mangled = {}
    for name, value in args.items():
        if name in NOT_PASSED_TO_THE_BUILDER or not isinstance(value, list):
            continue
        words = [as_builder_string(item) for item in value]
        if any(MANGLED.search(word) for word in words):
            mangled[name] = words
    return mangled


def requirement_names(requirements: list[str]) -> set[str]:
    """PEP 508 requirements to names as nixpkgs spells them (`PyMySQL>=1.1` -> `pymysql`)."""
    names = set()
    for requirement in requirements:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert match, requirement
        names.add(re.sub(r"[._]+", "-", match.group(0)).lower())
    return names


def pyproject(name: str) -> dict[str, Any]:
    return tomllib.loads((REPO / name / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def services(outputs: dict[str, Any], system: str) -> dict[str, dict[str, Any]]:
    return {name: outputs["packages"][system][name] for name in SERVICES}


def own_package(outputs: dict[str, Any], system: str, name: str) -> dict[str, Any]:
    """The built derivation of one of this repository's packages."""
    found = {
        drv["path"]: drv
        for drv in derivations(outputs["packages"][system])
        if pname(drv) == name and drv["stub"] != "mkPythonEditablePackage"
    }
    assert len(found) == 1, f"{name}: {sorted(found)}"
    return next(iter(found.values()))
