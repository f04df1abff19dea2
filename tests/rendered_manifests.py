"""deploy/kubernetes rendered by the pinned kustomize, and what the tests read from it."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from running_stack import ROOT

DEPLOY = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("local", "production")
# The Kubernetes version whose API schemas the manifests must pass (kubernetes-validate).
KUBERNETES_VERSION = "1.35.0"
WORKLOAD_KINDS = {"Deployment", "StatefulSet"}


def kustomize() -> str:
    """bin/kustomize (make bootstrap) or, under Nix, nixpkgs' kustomize on PATH."""
    built = ROOT / "bin" / "kustomize"
    found = str(built) if built.exists() else shutil.which("kustomize")
    if found is None:
        pytest.fail("kustomize not found: `make bootstrap` builds it into bin/")
    return found


def pinned_kustomize_version() -> str:
    go_mod = (ROOT / "tools" / "kustomize" / "go.mod").read_text(encoding="utf-8")
    match = re.search(r"sigs\.k8s\.io/kustomize/kustomize/v5 (v\S+)", go_mod)
    assert match, "tools/kustomize/go.mod requires no kustomize"
    return match.group(1)


@functools.cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    """`kustomize build` of one overlay, as the objects it prints."""
    result = subprocess.run(
        [kustomize(), "build", str(DEPLOY / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return tuple(item for item in yaml.safe_load_all(result.stdout) if item)


def of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [item for item in objects if item["kind"] == kind]


def named(objects: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    (found,) = [item for item in of_kind(objects, kind) if item["metadata"]["name"] == name]
    return found


def workloads(objects: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [item for item in objects if item["kind"] in WORKLOAD_KINDS]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def all_containers(workload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def container_env(objects: tuple[dict[str, Any], ...], container: dict[str, Any]) -> dict[str, str]:
    """The variables a container gets from its ConfigMaps (Secrets are not in the render)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(named(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
    return env


def writable_mounts(workload: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """The container's mount paths that are emptyDir volumes: all it may write to."""
    empty_dirs = {
        volume["name"] for volume in pod_spec(workload).get("volumes", []) if "emptyDir" in volume
    }
    return [
        mount["mountPath"]
        for mount in container.get("volumeMounts", [])
        if mount["name"] in empty_dirs
    ]
