"""Make the Slicer modules' Lib packages importable here, as Slicer's module path does."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
for module_dir in (REPO / "OMNetSegmentation", REPO / "OMNetTraining"):
    if str(module_dir) not in sys.path:
        sys.path.insert(0, str(module_dir))
