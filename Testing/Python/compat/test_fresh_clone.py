"""The test command on a fresh clone: real-data tests skip with a reason, or fail in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
REAL_DATA_TEST = "Testing/Python/data/test_naming_discovery.py"


def run_pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("OMNET_BRATS_DIR", "OMNET_REQUIRE_DATA")}
    environment.update(OMNET_BRATS_DIR=str(tmp_path / "no-data-here"), **env)
    return subprocess.run([sys.executable, "-m", "pytest", REAL_DATA_TEST, "-q", "-rs",
                           "-p", "no:cacheprovider"], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=300, check=False)


def test_without_the_real_cases_their_tests_are_skipped_with_the_reason(tmp_path):
    process = run_pytest(tmp_path)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    assert "1 skipped" in process.stdout
    assert "needs the real BraTS cases at" in process.stdout
    assert " passed" in process.stdout  # the other tests of the file still ran


def test_ci_turns_missing_real_cases_into_a_failure(tmp_path):
    process = run_pytest(tmp_path, OMNET_REQUIRE_DATA="1")
    assert process.returncode != 0
    assert "OMNET_REQUIRE_DATA=1 but the real BraTS cases are not at" in (
        process.stdout + process.stderr)


def test_ci_requires_the_real_cases_and_python39():
    ci = (REPO / ".ci" / "run").read_text()
    exported = [line.split()[1:] for line in ci.splitlines() if line.startswith("export ")]
    assert ["OMNET_REQUIRE_DATA=1", "OMNET_REQUIRE_OLDEST_PYTHON=1"] in exported
