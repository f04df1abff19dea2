"""flake.nix evaluated against a stub nixpkgs (tests/nix_stub.py): what our Nix files pass to
the nixpkgs builders, checked without nixpkgs."""

from __future__ import annotations

import json
import re

import pytest
from nix_stub import (
    DARWIN,
    ENV_BUILDERS,
    LINUX,
    OWN_PACKAGES,
    REPO,
    SERVICES,
    STUB_NIXPKGS,
    SYSTEMS,
    derivations,
    flake_outputs,
    lists_mangled_by_the_builder,
    named,
    nix_eval,
    nix_eval_error,
    own_package,
    pname,
    pyproject,
    requirement_names,
    runtime_closure,
    services,
)


@pytest.fixture(scope="module")
def outputs() -> dict:
    return flake_outputs()


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


def stub_call(call: str) -> str:
    """An expression applying one stub function of x86_64-linux to arguments."""
    return f"""
      let
        pkgs = (import {STUB_NIXPKGS}).legacyPackages.x86_64-linux;
      in
      {call}
    """


SERVICE_BUILD = 'pname = "backend"; version = "1.0.0";'


def test_the_original_pytest_flags_fail_the_evaluation() -> None:
    # The call nix/packages.nix made before disabledTestMarks.
    error = nix_eval_error(
        "--expr",
        stub_call(
            "pkgs.python313.pkgs.buildPythonApplication"
            f' {{ {SERVICE_BUILD} pytestFlags = [ "-m" "not integration" ]; }}'
        ),
    )
    assert "buildPythonApplication" in error
    assert "pytestFlags" in error
    assert "not integration" in error


def test_structured_attrs_lists_and_meta_reach_the_builder_whole() -> None:
    args = nix_eval(
        "--expr",
        stub_call(
            "(pkgs.python313.pkgs.buildPythonApplication {"
            f' {SERVICE_BUILD} __structuredAttrs = true; pytestFlags = [ "-m" "not integration" ];'
            ' meta.maintainers = [ "A Person" ]; }).stubArgs'
        ),
    )
    assert args["pytestFlags"] == ["-m", "not integration"]


@pytest.mark.parametrize(
    ("call", "unknown"),
    [
        (
            'pkgs.writeShellApplication { name = "x"; text = ""; runtimeInput = [ ]; }',
            "runtimeInput",
        ),
        ('pkgs.dockerTools.streamLayeredImage { name = "x"; Cmd = [ "x" ]; }', "Cmd"),
        ('pkgs.dockerTools.fakeNss.override { extraPasswdLine = [ "x" ]; }', "extraPasswdLine"),
        ("pkgs.makeFontsConf { fontDirectories = [ ]; fonts = [ ]; }", "fonts"),
        (
            'pkgs.python313.pkgs.mkPythonEditablePackage { pname = "x"; version = "1"; root = "/";'
            " propagatedBuildInputs = [ ]; }",
            "propagatedBuildInputs",
        ),
    ],
)
def test_an_argument_the_real_function_does_not_take_fails(call: str, unknown: str) -> None:
    error = nix_eval_error("--expr", stub_call(call))
    assert f"unexpected argument '{unknown}'" in error


def test_a_list_the_builder_would_split_fails_in_every_mkderivation_builder() -> None:
    calls = [
        f'pkgs.python313.pkgs.buildPythonPackage {{ {SERVICE_BUILD} flags = [ "a b" ]; }}',
        'pkgs.runCommand "x" { flags = [ "$HOME" ]; } ""',
        'pkgs.mkShell { flags = [ "it\'s" ]; }',
        'pkgs.writeShellApplication { name = "x"; text = ""; derivationArgs.f = [ "a b" ]; }',
    ]
    for call in calls:
        assert "does not arrive whole" in nix_eval_error("--expr", stub_call(call)), call


def test_get_exe_needs_a_main_program() -> None:
    error = nix_eval_error(
        "--expr", stub_call('pkgs.lib.getExe { name = "x"; outPath = "/x"; meta = { }; }')
    )
    assert "no meta.mainProgram" in error


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
    assert set(outputs["packages"][system]) == {
        "backend",
        "frontend",
        "stack",
        "default",
        "kubernetes-local",
        "kubernetes-production",
    }


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("overlay", ["local", "production"])
def test_the_kubernetes_manifests_are_rendered_by_kustomize(
    outputs: dict, system: str, overlay: str
) -> None:
    rendered = outputs["packages"][system][f"kubernetes-{overlay}"]
    assert rendered["stub"] == "runCommand"
    assert rendered["name"] == f"users-kubernetes-{overlay}"
    assert [pname(tool) for tool in rendered["args"]["nativeBuildInputs"]] == ["kustomize"]
    # The build command is not evaluated (it copies deploy/kubernetes): read it as text.
    command = (REPO / "nix" / "kubernetes.nix").read_text(encoding="utf-8")
    assert 'kustomize build ${../deploy/kubernetes}/overlays/${overlay} > "$out"' in command
    assert (REPO / "deploy" / "kubernetes" / "overlays" / overlay / "kustomization.yaml").is_file()


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


# What the OBSERVABILITY=1 scripts run, by nixpkgs attribute: victoriametrics carries
# victoria-metrics, vmalert and vmalert-tool (pkgs/by-name/vi/victoriametrics/package.nix).
# opentelemetry-collector-contrib installs otelcol-contrib (pkgs/tools/misc/opentelemetry-collector/
# releases.nix: `mv $out/bin/* $out/bin/$pname`); zipkin-server is nix/trace-viewer.nix.
OBSERVABILITY_TOOLS = {
    "victoriametrics",
    "prometheus-mysqld-exporter",
    "opentelemetry-collector-contrib",
    "zipkin-server",
}


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_stack_and_the_shell_have_the_observability_tools(outputs: dict, system: str) -> None:
    stack = outputs["packages"][system]["stack"]["args"]["runtimeInputs"]
    shell = outputs["devShells"][system]["default"]["args"]["packages"]
    for inputs in (stack, shell):
        assert {pname(drv) for drv in inputs} >= OBSERVABILITY_TOOLS


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
