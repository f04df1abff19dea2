"""flake.nix evaluated against a stub nixpkgs: what our Nix files pass to the nixpkgs builders.

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
    "stdenvNoCC.mkDerivation",
    "runCommand",
    "mkShell",
}
# Attributes mkDerivation keeps for itself instead of passing them to the builder.
NOT_PASSED_TO_THE_BUILDER = {"meta", "passthru"}
# A character that a split on whitespace, or an `eval` as in the pytestFlagsArray layer, changes.
MANGLED = re.compile(r"[\s\"'$\\`]")


def nix_eval(*arguments: str) -> Any:
    """`nix-instantiate --eval --strict --json`, reading only files of this repository."""
    if NIX_INSTANTIATE is None:
        pytest.skip("nix-instantiate is not on PATH (Debian: apt-get install nix-bin)")
    result = subprocess.run(
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
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def outputs() -> dict[str, Any]:
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


# What the helper catches, without Nix.


def test_the_helper_flags_a_list_element_with_a_space() -> None:
    original = {"pytestFlags": ["-m", "not integration"], "disabledTestMarks": ["integration"]}
    assert lists_mangled_by_the_builder(original) == {"pytestFlags": ["-m", "not integration"]}


def test_the_helper_flags_quotes_and_dollars_but_not_plain_words() -> None:
    assert lists_mangled_by_the_builder({"a": ["'x'"], "b": ["$HOME"], "c": ["-x", "--y=z"]}) == {
        "a": ["'x'"],
        "b": ["$HOME"],
    }


def test_the_helper_leaves_structured_attrs_and_meta_alone() -> None:
    assert not lists_mangled_by_the_builder({"__structuredAttrs": True, "f": ["a b"]})
    assert not lists_mangled_by_the_builder({"meta": ["a b"], "passthru": ["a b"]})


# The stub evaluation.


def test_the_stub_would_have_caught_the_original_pytest_flags() -> None:
    # The call nix/packages.nix made before disabledTestMarks, through the same stub.
    expression = f"""
      let
        pkgs = (import {STUB_NIXPKGS}).legacyPackages.x86_64-linux;
      in
      (pkgs.python313.pkgs.buildPythonApplication {{
        pname = "backend";
        version = "1.0.0";
        pytestFlags = [ "-m" "not integration" ];
      }}).stubArgs
    """
    args = nix_eval("--expr", expression)
    assert lists_mangled_by_the_builder(args) == {"pytestFlags": ["-m", "not integration"]}


@pytest.mark.parametrize("system", SYSTEMS)
def test_no_builder_gets_a_list_it_would_split_wrongly(outputs: dict, system: str) -> None:
    per_system = {
        name: output[system] for name, output in outputs.items() if name in {"packages", "checks"}
    }
    per_system["devShells"] = outputs["devShells"][system]
    checked = [drv for drv in derivations(per_system) if drv["stub"] in ENV_BUILDERS]
    assert {pname(drv) for drv in checked} >= {*OWN_PACKAGES, "users-make-lint"}
    mangled = {
        drv["name"]: bad for drv in checked if (bad := lists_mangled_by_the_builder(drv["args"]))
    }
    assert not mangled


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_package_builds_leave_out_integration_tests(outputs: dict, system: str) -> None:
    for name, drv in services(outputs, system).items():
        args = drv["args"]
        assert args["disabledTestMarks"] == ["integration"], name
        assert not any(re.search(r"\s", flag) for flag in args.get("pytestFlags", [])), name
        assert pname(args["nativeCheckInputs"][0]) == "pytestCheckHook"


@pytest.mark.parametrize("name", OWN_PACKAGES)
def test_name_version_and_source_come_from_the_pyproject(outputs: dict, name: str) -> None:
    project = pyproject(name)
    drv = own_package(outputs, "x86_64-linux", name)
    assert (drv["args"]["pname"], drv["args"]["version"]) == (project["name"], project["version"])
    assert drv["args"]["src"] == str(REPO / name)
    assert [pname(tool) for tool in drv["args"]["build-system"]] == ["hatchling"]
    assert drv["args"]["meta"]["description"] == project["description"]


@pytest.mark.parametrize("name", OWN_PACKAGES)
def test_dependencies_mirror_the_pyproject(outputs: dict, name: str) -> None:
    drv = own_package(outputs, "x86_64-linux", name)
    declared = requirement_names(pyproject(name).get("dependencies", []))
    assert {pname(dependency) for dependency in drv["args"]["dependencies"]} == declared


@pytest.mark.parametrize("system", SYSTEMS)
def test_servicekit_is_a_dependency_of_both_services(outputs: dict, system: str) -> None:
    servicekit = own_package(outputs, system, "servicekit")
    assert servicekit["stub"] == "buildPythonPackage"
    for name, drv in services(outputs, system).items():
        assert servicekit in drv["args"]["dependencies"], name


@pytest.mark.parametrize("system", SYSTEMS)
def test_testkit_is_a_check_input_and_never_a_dependency(outputs: dict, system: str) -> None:
    testkit = own_package(outputs, system, "testkit")
    for name, drv in services(outputs, system).items():
        check_inputs = {pname(item) for item in drv["args"]["nativeCheckInputs"]}
        assert testkit in drv["args"]["nativeCheckInputs"], name
        assert not named(list(runtime_closure(drv)), "testkit"), name
        # What each suite imports: its package's `test` extra (testkit brings PyMySQL).
        test_extra = pyproject(name).get("optional-dependencies", {}).get("test", [])
        assert requirement_names(test_extra) <= check_inputs, name
    # The frontend's tests need the backend no more.
    frontend_checks = outputs["packages"][system]["frontend"]["args"]["nativeCheckInputs"]
    assert "backend" not in {pname(item) for item in frontend_checks}


@pytest.mark.parametrize("system", LINUX)
def test_images_hold_their_service_with_servicekit_and_no_testkit(
    outputs: dict, system: str
) -> None:
    for name in SERVICES:
        image = outputs["packages"][system][f"{name}-image"]
        assert image["stub"] == "dockerTools.streamLayeredImage"
        contents = image["args"]["contents"]
        assert contents[0] == outputs["packages"][system][name]
        closure = [drv for item in contents for drv in runtime_closure(item)]
        assert named(closure, "servicekit"), name
        assert not named(closure, "testkit"), name


@pytest.mark.parametrize("system", DARWIN)
def test_darwin_has_no_images(outputs: dict, system: str) -> None:
    assert set(outputs["packages"][system]) == {"backend", "frontend", "stack", "default"}


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_dev_python_has_each_own_package_once_and_editable(outputs: dict, system: str) -> None:
    shell = outputs["devShells"][system]["default"]
    (python,) = [
        drv for drv in shell["args"]["packages"] if drv["stub"] == "python313.withPackages"
    ]
    closure = [drv for item in python["args"]["packages"] for drv in runtime_closure(item)]
    for name in OWN_PACKAGES:
        kinds = {(drv["stub"], drv["args"].get("root")) for drv in named(closure, name)}
        # Built and editable side by side would be two copies of one package in one environment.
        assert kinds == {("mkPythonEditablePackage", f"$USERS_STACK_ROOT/{name}/src")}, name
    for name in SERVICES:
        (editable,) = {json.dumps(drv, sort_keys=True) for drv in named(closure, name)}
        assert json.loads(editable)["args"]["scripts"] == pyproject(name)["scripts"]


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_app_has_only_the_attributes_flake_check_accepts(outputs: dict, system: str) -> None:
    app = outputs["apps"][system]["default"]
    assert set(app) <= {"type", "program", "meta"}
    assert app["type"] == "app"
    assert app["program"].endswith("-users-stack/bin/users-stack")
    assert isinstance(app["meta"]["description"], str)


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_stack_can_read_a_dotenv_file(outputs: dict, system: str) -> None:
    stack = outputs["packages"][system]["stack"]
    pythons = [
        drv for drv in stack["args"]["runtimeInputs"] if drv["stub"].endswith("withPackages")
    ]
    assert [pname(item) for python in pythons for item in python["args"]["packages"]] == [
        "python-dotenv"
    ]


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_checks(outputs: dict, system: str) -> None:
    checks = outputs["checks"][system]
    expected = {"backend", "frontend", "stack", "lint"} | ({"test"} if system in LINUX else set())
    assert set(checks) == expected
    assert outputs["formatter"][system]["name"] == "nixfmt"
    if system in LINUX:
        fonts = checks["test"]["args"]["FONTCONFIG_FILE"]
        assert fonts["stub"] == "makeFontsConf"


def test_make_targets_patch_every_env_shebang_first() -> None:
    # The runCommand script is not evaluated (it copies the checkout): read it as text.
    checks = (REPO / "nix" / "checks.nix").read_text(encoding="utf-8")
    patch = re.search(r"patchShebangs --build ((?:[\w.]+ ?)+)\n", checks)
    assert patch, "checks.nix runs no patchShebangs --build"
    assert checks.index(patch.group(0)) < checks.index("make ${target}")
    patched = patch.group(1).split()
    skipped = {".git", ".venv", ".venv-nixpkgs", ".data", "node_modules", "bin", "result"}
    with_env_shebang = [
        path.relative_to(REPO)
        for path in REPO.rglob("*")
        if path.is_file()
        and not skipped.intersection(path.relative_to(REPO).parts)
        and path.stat().st_mode & 0o100
        and path.read_bytes().startswith(b"#!/usr/bin/env")
    ]
    assert with_env_shebang
    assert all(path.parts[0] in patched for path in with_env_shebang), with_env_shebang
