"""deploy/kubernetes: both overlays render with the pinned kustomize, pass the API schemas of a
pinned Kubernetes version (strict: no unknown field), and follow the project's rules."""

from __future__ import annotations

import copy
import re
import subprocess
import tomllib
from typing import Any

import kubernetes_validate
import pytest
from nix_stub import flake_outputs
from rendered_manifests import (
    DEPLOY,
    KUBERNETES_VERSION,
    OVERLAYS,
    all_containers,
    container_env,
    kustomize,
    named,
    of_kind,
    pinned_kustomize_version,
    pod_spec,
    render,
    workloads,
    writable_mounts,
)
from running_stack import ROOT

SERVICES = ("backend", "frontend")
IMAGE_UID = int(re.search(r'uid = "(\d+)"', (ROOT / "nix/images.nix").read_text())[1])
# MySQL's default max_connections, less what people and tools keep for themselves.
MYSQL_MAX_CONNECTIONS = 151
RESERVED_CONNECTIONS = 10
TMP = "/tmp"  # noqa: S108 - the containers' own /tmp, an emptyDir
SECRET_NAME = re.compile(r"PASSWORD|SECRET|DATABASE_URL|TOKEN|KEY", re.IGNORECASE)


def test_kustomize_is_the_pinned_version() -> None:
    if not kustomize().startswith(str(ROOT / "bin")):
        pytest.skip("nixpkgs' kustomize: its version is nixpkgs' (nix/README.md)")
    result = subprocess.run(
        [kustomize(), "version"], capture_output=True, text=True, check=True, timeout=30
    )
    assert result.stdout.strip() == pinned_kustomize_version()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_passes_the_api_schemas_strictly(overlay: str) -> None:
    failures = {}
    for item in render(overlay):
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures[f"{item['kind']}/{item['metadata']['name']}"] = str(error).splitlines()[0]
    assert not failures
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "NetworkPolicy"} <= {
        item["kind"] for item in render(overlay)
    }


def test_strict_validation_catches_a_misspelt_field() -> None:
    deployment = copy.deepcopy(named(render("production"), "Deployment", "backend"))
    pod_spec(deployment)["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/healthz"}}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_probed_bounded_and_locked_down(overlay: str) -> None:
    for workload in workloads(render(overlay)):
        spec = pod_spec(workload)
        where = f"{overlay} {workload['metadata']['name']}"
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] > 0, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in spec["containers"]:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert probe in container, f"{where} {container['name']}: {probe}"
        for container in all_containers(workload):
            what = f"{where} {container['name']}"
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, what
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, what
            assert security["allowPrivilegeEscalation"] is False, what
            assert security["capabilities"] == {"drop": ["ALL"]}, what
            assert TMP in writable_mounts(workload, container), what


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_services_run_as_the_images_user_with_the_health_routes(overlay: str) -> None:
    objects = render(overlay)
    for service in SERVICES:
        deployment = named(objects, "Deployment", service)
        spec = pod_spec(deployment)
        assert spec["securityContext"]["runAsUser"] == IMAGE_UID
        assert spec["securityContext"]["runAsGroup"] == IMAGE_UID
        (container,) = spec["containers"]
        assert container["startupProbe"]["httpGet"]["path"] == "/livez"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        env = container_env(objects, container)
        # One Hypercorn worker per container: more load gets more pods.
        assert env[f"{service.upper()}_WORKERS"] == "1"
        assert env[f"{service.upper()}_ENV"] == "production"
        # prometheus_client's files go to an emptyDir, like every other write.
        assert env["PROMETHEUS_MULTIPROC_DIR"] in writable_mounts(deployment, container)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_shutdown_gives_requests_in_flight_their_graceful_timeout(overlay: str) -> None:
    objects = render(overlay)
    for service in SERVICES:
        spec = pod_spec(named(objects, "Deployment", service))
        (container,) = spec["containers"]
        graceful = float(container_env(objects, container)[f"{service.upper()}_GRACEFUL_TIMEOUT"])
        drain = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        # Kubernetes kills the pod this long after it started terminating, preStop included.
        assert spec["terminationGracePeriodSeconds"] > drain + graceful, service


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_an_hpa_and_a_pdb(overlay: str) -> None:
    objects = render(overlay)
    for deployment in of_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (hpa,) = [
            item
            for item in of_kind(objects, "HorizontalPodAutoscaler")
            if item["spec"]["scaleTargetRef"]
            == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        ]
        assert [metric["resource"]["name"] for metric in hpa["spec"]["metrics"]] == ["cpu"]
        assert hpa["spec"]["minReplicas"] >= 2, name
        assert deployment["spec"]["replicas"] == hpa["spec"]["minReplicas"], name
        pdbs = [
            item
            for item in of_kind(objects, "PodDisruptionBudget")
            if item["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(pdbs) == 1, name


def secret_looking_values(objects: tuple[dict[str, Any], ...]) -> list[str]:
    found = [f"Secret/{item['metadata']['name']}" for item in of_kind(objects, "Secret")]
    for config_map in of_kind(objects, "ConfigMap"):
        found += [key for key in config_map.get("data", {}) if SECRET_NAME.search(key)]
    for workload in workloads(objects):
        for container in all_containers(workload):
            found += [
                item["name"]
                for item in container.get("env", [])
                if "value" in item and SECRET_NAME.search(item["name"])
            ]
    return found


def test_production_holds_no_secret_value() -> None:
    assert secret_looking_values(render("production")) == []
    # The check sees the local overlay's development-only ones.
    assert {"Secret/backend-database", "Secret/frontend-secret-key"} <= set(
        secret_looking_values(render("local"))
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_secrets_come_from_secrets_the_pods_share(overlay: str) -> None:
    objects = render(overlay)
    expected = {"backend": "backend-database", "frontend": "frontend-secret-key"}
    for service, secret in expected.items():
        for container in all_containers(named(objects, "Deployment", service)):
            refs = [
                item["secretRef"]["name"] for item in container["envFrom"] if "secretRef" in item
            ]
            assert refs == [secret], service


def test_the_images_are_the_ones_the_flake_builds() -> None:
    packages = flake_outputs()["packages"]["x86_64-linux"]
    images = {
        service: "{name}:{tag}".format(**packages[f"{service}-image"]["args"])
        for service in SERVICES
    }
    for service in SERVICES:
        for container in all_containers(named(render("local"), "Deployment", service)):
            assert container["image"] == images[service]
        version = tomllib.loads((ROOT / service / "pyproject.toml").read_text())["project"][
            "version"
        ]
        for container in all_containers(named(render("production"), "Deployment", service)):
            repository, tag = container["image"].rsplit(":", 1)
            assert repository.rsplit("/", 1)[1] == images[service].split(":")[0]
            assert tag == version


def test_production_connection_budget_fits_mysql() -> None:
    objects = render("production")
    deployment = named(objects, "Deployment", "backend")
    hpa = named(objects, "HorizontalPodAutoscaler", "backend")
    surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
    (container,) = pod_spec(deployment)["containers"]
    pool = int(container_env(objects, container)["DB_POOL_SIZE"])
    assert (
        hpa["spec"]["maxReplicas"] + surge
    ) * pool <= MYSQL_MAX_CONNECTIONS - RESERVED_CONNECTIONS
    # Production names no database host: DATABASE_URL, in the Secret, says where it is.
    assert "DB_HOST" not in container_env(objects, container)


def policy(objects: tuple[dict[str, Any], ...], name: str) -> dict[str, Any]:
    return named(objects, "NetworkPolicy", name)["spec"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_only_frontend_to_backend_to_mysql(overlay: str) -> None:
    objects = render(overlay)
    deny = policy(objects, "default-deny")
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny
    backend = policy(objects, "backend")
    (allowed,) = backend["ingress"]
    assert allowed["from"][0] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "frontend"}}
    }
    assert [port["port"] for port in allowed["ports"]] == [8080]
    assert [port["port"] for rule in backend["egress"] for port in rule["ports"]] == [3306]
    frontend = policy(objects, "frontend")
    assert [rule["to"][0]["podSelector"]["matchLabels"] for rule in frontend["egress"]] == [
        {"app.kubernetes.io/name": "backend"}
    ]
    if overlay == "local":
        (from_backend,) = policy(objects, "mysql")["ingress"]
        assert from_backend["from"] == [
            {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "backend"}}}
        ]


def test_local_has_one_mysql_84_with_a_volume_and_production_none() -> None:
    mysql = named(render("local"), "StatefulSet", "mysql")
    assert mysql["spec"]["replicas"] == 1
    assert pod_spec(mysql)["containers"][0]["image"] == "mysql:8.4"
    assert [claim["metadata"]["name"] for claim in mysql["spec"]["volumeClaimTemplates"]] == [
        "data"
    ]
    assert of_kind(render("production"), "StatefulSet") == []
    ingress = named(render("production"), "Ingress", "frontend")
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"] == {"name": "frontend", "port": {"name": "http"}}


def test_the_namespace_enforces_the_restricted_pod_security_standard() -> None:
    for overlay in OVERLAYS:
        (namespace,) = of_kind(render(overlay), "Namespace")
        labels = namespace["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert {
            item["metadata"].get("namespace")
            for item in render(overlay)
            if item["kind"] != "Namespace"
        } == {namespace["metadata"]["name"]}


def test_the_readme_covers_every_overlay() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for overlay in OVERLAYS:
        assert f"overlays/{overlay}" in readme
