"""Checks of the Nix flake and the compose file that need no Nix store, no network and no Docker.

Nothing here builds the flake; `nix flake check` does that on a machine with Nix, and
tests/test_nix_eval.py evaluates it against a stub nixpkgs. What can be checked anywhere: every
.nix file parses (`nix-instantiate --parse`, the stubs in tests/nix/ too), flake.lock pins
one revision of nixos-26.05, every repository path a .nix file names exists, and compose.yaml
describes the services the loaded images need.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".git", ".venv", ".venv-nixpkgs", ".data", "node_modules", "result"}
NIX_FILES = sorted(
    path
    for path in REPO.rglob("*.nix")
    if not SKIPPED_DIRS.intersection(path.relative_to(REPO).parts)
)
NIX_INSTANTIATE = shutil.which("nix-instantiate")
needs_nix_instantiate = pytest.mark.skipif(
    NIX_INSTANTIATE is None,
    reason="nix-instantiate is not on PATH (Debian: apt-get install nix-bin)",
)

NIXPKGS_ORIGINAL = {"owner": "NixOS", "ref": "nixos-26.05", "repo": "nixpkgs", "type": "github"}
# nixos-26.05 branched off in May 2026: a lock older than that cannot be on the branch.
BRANCH_OFF = datetime(2026, 5, 1, tzinfo=UTC)
SYSTEMS = ("x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin")

# A double-quoted string in the parser's output (it prints every string in this form).
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
# An absolute path in the parser's output; `//` is the update operator, not a path.
PATH_LITERAL = re.compile(r"(?<![\w./-])(/[\w.+-][^\s;()\[\]{}\"]*)")


def parse(path: Path) -> str:
    """The file's syntax tree as `nix-instantiate --parse` prints it, paths made absolute."""
    result = subprocess.run(
        [NIX_INSTANTIATE, "--parse", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, f"{path.relative_to(REPO)} does not parse:\n{result.stderr}"
    return result.stdout


def top_level_names(parsed: str) -> list[str]:
    """Names bound directly in the attribute set that makes up a parsed file."""
    code = STRING_LITERAL.sub('""', parsed)
    names, depth = [], 0
    for match in re.finditer(r"[{}()\[\]]|([\w'-]+) = ", code):
        token = match.group(0)
        if token in "{([":
            depth += 1
        elif token in "})]":
            depth -= 1
        elif depth == 1:
            names.append(match.group(1))
    return names


def test_the_repository_has_nix_files() -> None:
    names = {path.relative_to(REPO).as_posix() for path in NIX_FILES}
    assert {"flake.nix", "nix/packages.nix", "nix/shell.nix", "nix/checks.nix"} <= names
    assert {"tests/nix/stub-nixpkgs.nix", "tests/nix/eval-flake.nix"} <= names


@needs_nix_instantiate
@pytest.mark.parametrize("path", NIX_FILES, ids=lambda path: path.relative_to(REPO).as_posix())
def test_nix_file_parses(path: Path) -> None:
    assert parse(path).strip()


@pytest.mark.parametrize(
    "path",
    [path for path in NIX_FILES if path.parent == REPO / "nix"],
    ids=lambda path: path.name,
)
def test_nix_module_starts_with_a_comment_saying_what_it_is(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert re.fullmatch(r"# \S.{10,}", first_line), first_line


def test_flake_lock_pins_one_nixos_26_05_revision() -> None:
    # The shape of a lock that `nix flake update` may rewrite, not one exact hash.
    lock = json.loads((REPO / "flake.lock").read_text(encoding="utf-8"))
    assert (lock["version"], lock["root"]) == (7, "root")
    assert lock["nodes"]["root"] == {"inputs": {"nixpkgs": "nixpkgs"}}
    assert set(lock["nodes"]) == {"root", "nixpkgs"}
    nixpkgs = lock["nodes"]["nixpkgs"]
    assert nixpkgs["original"] == NIXPKGS_ORIGINAL
    locked = nixpkgs["locked"]
    assert set(locked) == {"lastModified", "narHash", "owner", "repo", "rev", "type"}
    assert (locked["type"], locked["owner"], locked["repo"]) == ("github", "NixOS", "nixpkgs")
    assert re.fullmatch(r"[0-9a-f]{40}", locked["rev"])
    assert locked["narHash"].startswith("sha256-")
    assert len(base64.b64decode(locked["narHash"].removeprefix("sha256-"), validate=True)) == 32
    modified = datetime.fromtimestamp(locked["lastModified"], UTC)
    assert BRANCH_OFF < modified < datetime.now(UTC)


@needs_nix_instantiate
def test_flake_has_description_inputs_and_outputs() -> None:
    parsed = parse(REPO / "flake.nix")
    assert sorted(top_level_names(parsed)) == ["description", "inputs", "outputs"]
    # The one input follows the branch the lock file pins.
    assert re.search(
        r'\binputs = \{ nixpkgs = \{ url = "github:NixOS/nixpkgs/nixos-26\.05"; \}; \}', parsed
    )
    for system in SYSTEMS:
        assert f'"{system}"' in parsed


@needs_nix_instantiate
@pytest.mark.parametrize("path", NIX_FILES, ids=lambda path: path.relative_to(REPO).as_posix())
def test_paths_named_by_nix_file_exist(path: Path) -> None:
    # The parser resolves path literals (`../backend`) to absolute paths; strings stay quoted.
    code = STRING_LITERAL.sub('""', parse(path))
    referenced = {Path(match) for match in PATH_LITERAL.findall(code)}
    outside = sorted(str(p) for p in referenced if not p.is_relative_to(REPO))
    assert not outside, f"{path.name} names paths outside the repository: {outside}"
    missing = sorted(str(p.relative_to(REPO)) for p in referenced if not p.exists())
    assert not missing, f"{path.name} names paths that do not exist: {missing}"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_the_loaded_images_with_mysql_84(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"db", "migrate", "backend", "frontend"}
    assert services["db"]["image"] == "mysql:8.4"
    assert services["migrate"]["image"] == "users-backend:latest"
    assert services["migrate"]["command"] == ["backend", "migrate"]
    assert services["backend"]["image"] == "users-backend:latest"
    assert services["frontend"]["image"] == "users-frontend:latest"


def test_compose_starts_services_in_dependency_order(compose: dict) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["backend"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert services["frontend"]["depends_on"] == {"backend": {"condition": "service_healthy"}}


def test_compose_health_checks_need_no_curl(compose: dict) -> None:
    services = compose["services"]
    assert "mysqladmin" in services["db"]["healthcheck"]["test"]
    assert services["backend"]["healthcheck"]["test"] == ["CMD", "backend", "healthcheck"]
    assert services["frontend"]["healthcheck"]["test"] == ["CMD", "frontend", "healthcheck"]


def test_compose_uses_a_least_privilege_database_user(compose: dict) -> None:
    db_env = compose["services"]["db"]["environment"]
    assert {"MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PASSWORD"} <= set(db_env)
    assert db_env["MYSQL_RANDOM_ROOT_PASSWORD"] == "yes"
    assert "MYSQL_ROOT_PASSWORD" not in db_env
    for service in ("migrate", "backend"):
        env = compose["services"][service]["environment"]
        assert env["DB_HOST"] == "db"
        assert env["DB_USER"] == db_env["MYSQL_USER"]
        assert env["DB_PASSWORD"] == db_env["MYSQL_PASSWORD"]


def test_compose_keeps_data_in_a_named_volume(compose: dict) -> None:
    assert "db-data" in compose["volumes"]
    assert "db-data:/var/lib/mysql" in compose["services"]["db"]["volumes"]


def test_compose_publishes_ports_on_loopback_only(compose: dict) -> None:
    published = [
        port for service in compose["services"].values() for port in service.get("ports", [])
    ]
    assert published
    assert all(port.startswith("127.0.0.1:") for port in published), published
