"""The Postman collection: its shape, and a newman run against the live stack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from running_stack import ROOT, Stack

COLLECTION = ROOT / "postman" / "users-api.postman_collection.json"
ENVIRONMENT = ROOT / "postman" / "local.postman_environment.json"
SCHEMA_V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
FOLDERS = ["Health", "Users v1", "Failures", "Legacy routes", "Seed requests"]
NEWMAN_TIMEOUT_SECONDS = 180


def newman() -> str | None:
    """newman from `make bootstrap` (postman/node_modules), else one on PATH (Nix)."""
    local = ROOT / "postman" / "node_modules" / ".bin" / "newman"
    return str(local) if local.exists() else shutil.which("newman")


def requests_in(items: list[dict]) -> list[dict]:
    """Every request of a collection, folders flattened."""
    found = []
    for item in items:
        found.extend(requests_in(item["item"]) if "item" in item else [item])
    return found


def script(item: dict, listen: str) -> str:
    return "\n".join(
        "\n".join(event["script"]["exec"])
        for event in item.get("event", [])
        if event["listen"] == listen
    )


def run_collection(base_url: str) -> subprocess.CompletedProcess[str]:
    executable = newman()
    if executable is None:
        pytest.skip("newman is not installed: run 'make bootstrap' (or use nix develop)")
    return subprocess.run(
        [
            executable,
            "run",
            str(COLLECTION),
            "--environment",
            str(ENVIRONMENT),
            "--env-var",
            f"baseUrl={base_url}",
            "--reporters",
            "cli",
            "--color",
            "off",
            # A request that hangs fails the run instead of stalling it.
            "--timeout-request",
            "10000",
        ],
        # `--color off` leaves colour codes in the failure table; FORCE_COLOR=0 removes them.
        env={**os.environ, "FORCE_COLOR": "0"},
        capture_output=True,
        text=True,
        check=False,
        timeout=NEWMAN_TIMEOUT_SECONDS,
    )


def assert_green(run: subprocess.CompletedProcess[str], label: str) -> None:
    # The whole report goes to the captured output; the failure message keeps the summary
    # table and newman's failure details, which follow it.
    print(run.stdout, run.stderr)
    if run.returncode != 0:
        lines = run.stdout.splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith("┌")), 0)
        summary = "\n".join(lines[start:]) or run.stderr
        pytest.fail(f"newman {label} failed (exit code {run.returncode}):\n{summary}")


def test_collection_is_postman_v21_with_the_expected_folders() -> None:
    collection = json.loads(COLLECTION.read_text())
    assert collection["info"]["schema"] == SCHEMA_V21
    assert [folder["name"] for folder in collection["item"]] == FOLDERS
    environment = json.loads(ENVIRONMENT.read_text())
    values = {variable["key"]: variable["value"] for variable in environment["values"]}
    assert values == {"baseUrl": "http://127.0.0.1:8080"}


def test_every_request_has_assertions_and_uses_base_url() -> None:
    collection = json.loads(COLLECTION.read_text())
    for item in requests_in(collection["item"]):
        tests = script(item, "test")
        assert "pm.test(" in tests, f"{item['name']!r} has no test script"
        assert "pm.response" in tests, f"{item['name']!r} checks nothing of the response"
        assert item["request"]["url"]["raw"].startswith("{{baseUrl}}/"), item["name"]


def test_seed_requests_are_sent_as_the_original_clients_send_them() -> None:
    collection = json.loads(COLLECTION.read_text())
    seed = next(folder for folder in collection["item"] if folder["name"] == "Seed requests")
    sent = [
        (item["request"]["method"], item["request"]["url"]["raw"].removeprefix("{{baseUrl}}"))
        for item in seed["item"]
    ]
    assert sent == [
        ("GET", "/users"),
        ("POST", "/users"),
        ("DELETE", "/users/300"),
        ("PUT", "/users/8"),
        ("GET", "/healthz"),
        ("GET", "/users/8"),
        ("GET", "/users?username=el7"),
    ]
    for item in seed["item"]:
        body = item["request"].get("body", {}).get("raw", "")
        assert item["request"]["header"] == [], "the original sends no Content-Type of its own"
        assert body == "" or "\r\n" in body, "the original bodies have CRLF line ends"


def test_newman_runs_the_collection_green_twice_on_the_same_database(stack: Stack) -> None:
    # The second run proves the collection is repeatable: it makes fresh names each time.
    assert_green(run_collection(stack.backend_url), "first run")
    assert_green(run_collection(stack.backend_url), "second run")
