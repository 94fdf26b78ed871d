"""Shared test fixtures: where the real BraTS cases are, and a small thread budget.

Tests that use ``brats_dir`` or ``brats_case`` are marked ``real_data`` at collection. Without
the cases (a fresh clone anywhere) they are skipped with the reason; with
``OMNET_REQUIRE_DATA=1`` (set by ``.ci/run``) a missing data folder stops the run instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Real BraTS 2018 cases, present on developer machines and in CI, never committed.
SHARED_BRATS = Path(os.environ.get("OMNET_BRATS_DIR", REPO.parent / "shared/data/brats2018"))
#: Fixtures that hand out the real cases; a test using one (even indirectly) needs them.
REAL_DATA_FIXTURES = {"brats_dir", "brats_case"}


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch

        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    except ImportError:  # torch-free test subsets (Slicer Lib) still run
        pass


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if REAL_DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_data)
    real = [item for item in items if item.get_closest_marker("real_data")]
    if not real or SHARED_BRATS.is_dir():
        return
    if os.environ.get("OMNET_REQUIRE_DATA") == "1":
        raise pytest.UsageError(
            f"OMNET_REQUIRE_DATA=1 but the real BraTS cases are not at {SHARED_BRATS} "
            f"({len(real)} tests need them); set OMNET_BRATS_DIR")
    skip = pytest.mark.skip(reason=f"needs the real BraTS cases at {SHARED_BRATS} "
                                   "(set OMNET_BRATS_DIR to their folder)")
    for item in real:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def brats_dir() -> Path:
    """Folder of the shared real cases (tests using it are skipped when it is absent)."""
    if not SHARED_BRATS.is_dir():
        raise FileNotFoundError(f"real BraTS cases not found at {SHARED_BRATS} "
                                "(set OMNET_BRATS_DIR)")
    return SHARED_BRATS


@pytest.fixture(scope="session")
def brats_case(brats_dir: Path) -> Path:
    """One real high-grade case with all three tumour sub-regions."""
    return brats_dir / "Brats18_2013_2_1"


@pytest.fixture(autouse=True)
def _logging_set_up_per_test():
    """A command run in-process (``main([...])``) sets up logging for the command line
    (:func:`omnet.utils.log.configure_logging`); undo that after the test, so that one test's
    set-up does not print INFO lines into the next one's captured stderr."""
    import logging

    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if type(h).__module__ == "omnet.utils.log"]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def any_tumour_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let an untrained network's label map through: it paints any share of the brain, which
    ``omnet segment`` refuses as no glioma's (:mod:`omnet.inference.plausibility`); tests of
    the plumbing around such a network relax that check."""
    from omnet.inference import plausibility

    monkeypatch.setattr(plausibility, "MAX_TUMOUR_SHARE", 1.0)


@pytest.fixture
def small_phantoms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the preparation stage take phantoms a few cm across: its checks that a series
    holds a whole brain (slices, extent, brain volume) are relaxed for the test."""
    from omnet.preparation import crop, reference

    monkeypatch.setattr(reference, "MIN_SLICES", 4)
    monkeypatch.setattr(reference, "MIN_EXTENT_MM", 4.0)
    monkeypatch.setattr(crop, "MIN_BRAIN_ML", 1.0)
    from omnet.preparation import brain_extraction

    # a phantom zero outside a few mL is skull-stripped, not "too small to tell"
    monkeypatch.setattr(brain_extraction, "BRAIN_VOLUME_ML", (0.5, 2400.0))
