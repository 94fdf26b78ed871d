"""The guides name real files: every repository path quoted in README.md and ARCHITECTURE.md
exists, so a renamed module cannot leave the reading guide pointing at nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
#: A quoted path into the repository's own folders, up to a ':' or a space.
QUOTED_PATH = re.compile(r"`((?:omnet|tools|benchmarks|Testing|OMNetSegmentation|OMNetTraining)"
                         r"/[A-Za-z0-9_./-]*)")


def quoted_paths(text: str) -> list[str]:
    return sorted({m.group(1).rstrip("/.") for m in QUOTED_PATH.finditer(text)})


@pytest.mark.parametrize("guide", ["README.md", "ARCHITECTURE.md"])
def test_every_quoted_path_exists(guide):
    text = (REPO / guide).read_text(encoding="utf-8")
    paths = quoted_paths(text)
    assert paths, f"{guide} quotes no repository path"
    missing = [p for p in paths if not (REPO / p).exists() and "*" not in p]
    assert missing == [], f"{guide} names files that do not exist: {missing}"


def test_a_missing_path_would_be_found():
    assert quoted_paths("see `omnet/nowhere.py: f` and `tools/x.py`") == [
        "omnet/nowhere.py", "tools/x.py"]
    assert not (REPO / "omnet/nowhere.py").exists()
