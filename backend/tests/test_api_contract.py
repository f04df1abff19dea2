"""The OpenAPI document says exactly what the server does: a bounded schemathesis run.

Against a real `backend serve` on the session's database: all phases (examples, coverage,
fuzzing, stateful) and all checks (no 5xx, every answer as documented, schema-valid requests
accepted, schema-invalid ones refused). Settings: schemathesis.toml beside this file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Test cases per operation and phase: about 15-20 s on 2 cores (12 s for 40).
MAX_EXAMPLES = 60
LIMIT_SECONDS = 60


def schemathesis() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("schemathesis is not installed (make bootstrap)")
    return [found]


def test_the_api_behaves_as_its_document_says(live_backend: str, tmp_path: Path) -> None:
    command = [
        *schemathesis(),
        "--config-file",
        str(CONFIG),
        "run",
        f"{live_backend}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-database",
        "none",
        "--no-color",
        # One worker: hypothesis describing strategies from several threads at once can trip
        # CPython 3.11's parser ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
    ]
    try:
        run = subprocess.run(
            command,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=LIMIT_SECONDS,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"schemathesis took more than {LIMIT_SECONDS} s:\n{error.stdout}")
    print(run.stdout, run.stderr)
    summary = run.stdout[run.stdout.find("=== FAILURES") :] or run.stdout[-4000:]
    assert run.returncode == 0, f"schemathesis found problems:\n{summary}\n{run.stderr}"
