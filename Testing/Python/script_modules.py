"""The project's scripts (``tools/*.py``, ``benchmarks/*.py``) loaded as modules, for tests
of their functions: they are files to run, not an importable package."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_script(relative_path: str) -> ModuleType:
    """The script at ``relative_path`` from the repository root, executed as a module."""
    path = REPO / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
