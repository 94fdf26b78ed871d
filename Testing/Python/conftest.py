"""Shared test fixtures: where the real BraTS cases are, and a small thread budget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Real BraTS 2018 cases, present on developer machines and in CI, never committed.
SHARED_BRATS = Path(os.environ.get("OMNET_BRATS_DIR", REPO.parent / "shared/data/brats2018"))


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch

        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    except ImportError:  # torch-free test subsets (Slicer Lib) still run
        pass


@pytest.fixture(scope="session")
def brats_dir() -> Path:
    """Folder of the shared real cases; the tests that need it fail loudly if it is absent."""
    if not SHARED_BRATS.is_dir():
        raise FileNotFoundError(f"real BraTS cases not found at {SHARED_BRATS} "
                                "(set OMNET_BRATS_DIR)")
    return SHARED_BRATS


@pytest.fixture(scope="session")
def brats_case(brats_dir: Path) -> Path:
    """One real high-grade case with all three tumour sub-regions."""
    return brats_dir / "Brats18_2013_2_1"


@pytest.fixture
def small_phantoms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the preparation stage take phantoms a few cm across: its checks that a series
    holds a whole brain (slices, extent, brain volume) are relaxed for the test."""
    from omnet.preparation import crop, reference

    monkeypatch.setattr(reference, "MIN_SLICES", 4)
    monkeypatch.setattr(reference, "MIN_EXTENT_MM", 4.0)
    monkeypatch.setattr(crop, "MIN_BRAIN_ML", 1.0)
