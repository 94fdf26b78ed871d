"""Lint is part of the tests: ``ruff check`` on the whole repository must find nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "check", *args], cwd=cwd,
                          capture_output=True, encoding="utf-8", errors="replace", check=False)


def test_repository_is_ruff_clean():
    result = ruff(".", cwd=REPO)
    assert result.returncode == 0, f"ruff found problems:\n{result.stdout}{result.stderr}"


def test_ruff_would_catch_a_problem(tmp_path):
    (tmp_path / "bad.py").write_text("import os\n")
    result = ruff("--no-cache", "bad.py", cwd=tmp_path)
    assert result.returncode == 1 and "F401" in result.stdout


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make demo" in readme
    commands = [line.strip() for line in ci.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "exec make test"
