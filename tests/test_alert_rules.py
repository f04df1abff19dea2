"""The alert rules, proven by the metrics store's own rule-test tool (vmalert-tool unittest)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "observability" / "alerts" / "stack.yml"
RULE_TESTS = ROOT / "observability" / "alert-tests" / "stack_test.yml"
EXPECTED_ALERTS = {
    "BackendDown",
    "FrontendDown",
    "DatabaseDown",
    "DatabaseUnavailableAnswers",
    "HighErrorRatio",
    "HighLatencyP99",
    "FrontendCannotReachBackend",
}


def vmalert_tool() -> str:
    found = shutil.which("vmalert-tool") or str(ROOT / "bin" / "vmalert-tool")
    if not Path(found).exists():
        pytest.fail("vmalert-tool is not installed: run 'make bootstrap' (or use nix develop)")
    return found


def rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_alert_passes_its_unit_tests():
    result = subprocess.run(
        [vmalert_tool(), "unittest", f"--files={RULE_TESTS}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_silent():
    tested = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    firing, silent = set(), set()
    for case in tested:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else silent).add(check["alertname"])
    assert {rule["alert"] for rule in rules()} == EXPECTED_ALERTS
    assert firing == EXPECTED_ALERTS
    assert silent == EXPECTED_ALERTS


def test_every_alert_has_a_summary_a_description_and_a_runbook_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", readme, re.MULTILINE)
    }
    for rule in rules():
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        assert annotations["description"], rule["alert"]
        assert annotations["runbook"] == f"README.md#{rule['alert'].lower()}"
        assert rule["alert"].lower() in anchors, f"README has no section '{rule['alert']}'"
