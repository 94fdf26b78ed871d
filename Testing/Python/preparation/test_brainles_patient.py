"""A second real glioma patient, never trained on: the same scans with two intensity scales
give the same tumour.

TCGA-DU-7294 (a low-grade glioma) as BrainLesion/preprocessing's examples processed it, from
that repository's history: its skull-stripped atlas-space series (``*_bet_raw.nii.gz``, the
scanner's intensities) and the same series percentile-normalised
(``*_bet_normalized.nii.gz``). Never committed: put them in ``$OMNET_BRAINLES_PATIENT_DIR``
(default ``../data/raw-glioma/DU-7294`` seen from the repository root) as ``prep/`` and
``norm/``. The z-score over the brain should make the two inputs one: the shipped model gave
Dice 0.997 / 0.966 and no enhancing tumour in either.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.evaluation import dice, region_masks

REPO = Path(__file__).resolve().parents[3]
PATIENT = Path(os.environ.get("OMNET_BRAINLES_PATIENT_DIR",
                              REPO.parent / "data/raw-glioma/DU-7294"))

pytestmark = pytest.mark.skipif(not (PATIENT / "norm").is_dir(),
                                reason=f"BrainLesion patient not found at {PATIENT} "
                                       "(set OMNET_BRAINLES_PATIENT_DIR)")


@pytest.mark.slow
def test_scanner_and_normalised_intensities_give_one_segmentation():
    from omnet import segment

    scanner = segment(PATIENT / "prep", None, device="cpu")
    normalised = segment(PATIENT / "norm", None, device="cpu")
    a = region_masks(sitk.GetArrayFromImage(scanner.labels))
    b = region_masks(sitk.GetArrayFromImage(normalised.labels))
    assert a["whole"].sum() > 10_000  # a tumour of over 10 mL was found at all
    assert dice(a["whole"], b["whole"]) >= 0.98
    assert dice(a["core"], b["core"]) >= 0.90
    assert np.count_nonzero(a["enhancing"]) == np.count_nonzero(b["enhancing"]) == 0
