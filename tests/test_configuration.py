"""Static checks of the stack's configuration: process-compose.yaml and .env.example."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from backend.settings import Settings as BackendSettings
from frontend.settings import Settings as FrontendSettings
from running_stack import ROOT, process_compose

ENV_EXAMPLE = (ROOT / ".env.example").read_text()


def dry_run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [process_compose(), "up", "--dry-run", "--config", str(config)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PC_DISABLE_DOTENV": "1", "HOME": str(config.parent)},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_process_compose_yaml_is_valid() -> None:
    result = dry_run(ROOT / "process-compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_process_compose_yaml_is_strict(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "process-compose.yaml").read_text())
    assert config["version"] == "0.5"
    assert config["is_strict"] is True
    config["processes"]["backend"]["no_such_key"] = True
    broken = tmp_path / "process-compose.yaml"
    broken.write_text(yaml.safe_dump(config))
    assert dry_run(broken).returncode != 0


def test_every_command_execs_so_signals_reach_the_real_process() -> None:
    processes = yaml.safe_load((ROOT / "process-compose.yaml").read_text())["processes"]
    for name, process in processes.items():
        assert process["command"].startswith("exec "), name


def documented_variables() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE, flags=re.MULTILINE))


@pytest.mark.parametrize(
    "variable",
    sorted(
        {BackendSettings.variable_name(name) for name in BackendSettings.model_fields}
        | {FrontendSettings.variable_name(name) for name in FrontendSettings.model_fields}
        # The stack scripts' defaults: `: "${NAME:=value}"` in scripts/lib/env.sh.
        | set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):=", (ROOT / "scripts/lib/env.sh").read_text()))
    ),
)
def test_every_setting_is_documented_in_env_example(variable: str) -> None:
    assert variable in documented_variables()


DOTENV = """\
# a comment
DB_PASSWORD=pa$$word
DB_NAME='single $quoted'
DB_USER="double ${DB_NAME} and \\"escaped\\""
DB_HOST=spaced value # inline comment
"""


def test_scripts_read_env_with_dotenv_rules_not_as_bash(tmp_path: Path) -> None:
    """.env is read as dotenv, the file's values win over the environment's."""
    env_file = tmp_path / ".env"
    env_file.write_text(DOTENV)
    show = tmp_path / "show"
    show.write_text(
        f'#!/usr/bin/env bash\nsource "{ROOT}/scripts/lib/env.sh"\n'
        'printf "%s\\n" "$DB_PASSWORD" "$DB_NAME" "$DB_USER" "$DB_HOST" "$PC_DISABLE_DOTENV"\n'
    )
    show.chmod(0o755)

    result = subprocess.run(
        [str(show)],
        env={"PATH": os.environ["PATH"], "STACK_ENV_FILE": str(env_file), "DB_NAME": "shell"},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )

    assert result.stdout.splitlines() == [
        "pa$$word",
        "single $quoted",
        'double single $quoted and "escaped"',
        "spaced value",
        "1",  # so that process-compose does not read the file a second time
    ]


def test_the_exporter_refuses_a_monitoring_password_it_would_expand(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "mysqld-exporter-run")],
        env={
            "PATH": os.environ["PATH"],
            "STACK_ENV_FILE": str(tmp_path / "none.env"),
            "METRICS_DATA_DIR": str(tmp_path / "metrics"),
            "MONITOR_DB_PASSWORD": "pa$word",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 2
    assert "must not contain '$'" in result.stderr
    assert not (tmp_path / "metrics").exists()
