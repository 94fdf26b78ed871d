"""The shipped model on two real patients from outside its training data, against what the
BraTS 2020 algorithms agree on.

TCGA-FG-6692 (high-grade) and TCGA-DU-7294 (low-grade, no enhancing tumour) as BrainLesion's
examples hold them (BrainLesion/tutorials, ``BraTS-Toolkit/data/<patient>/<patient>_brainles``):
the skull-stripped atlas-space series (``raw_bet/``) and BraTS-Toolkit's majority vote of
five BraTS 2020 algorithms (``fusion/mav.nii.gz``). Never committed: put each patient's
``raw_bet/`` and ``seg/fusion_mav.nii.gz`` in ``$OMNET_EXTERNAL_DIR/<patient>`` (default
``../data/brats-toolkit`` seen from the repository root; FG-6692's folder is named
``OtherEXampleFromTCIA`` there). The shipped file measured 0.842 / 0.824 / 0.895 (FG-6692)
and 0.895 / 0.744 / no enhancing tumour (DU-7294); the bars sit below with room for a
retrained model, above what a broken pipeline gives.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.evaluation import dice, region_masks

REPO = Path(__file__).resolve().parents[3]
EXTERNAL = Path(os.environ.get("OMNET_EXTERNAL_DIR", REPO.parent / "data/brats-toolkit"))
PATIENTS = {"OtherEXampleFromTCIA": (0.80, 0.75, 0.80), "TCGA-DU-7294": (0.85, 0.65, None)}


def _folders(patient: str) -> tuple[Path, Path]:
    return EXTERNAL / patient / "raw_bet", EXTERNAL / patient / "seg" / "fusion_mav.nii.gz"


def _case(patient: str):
    missing = not _folders(patient)[1].is_file()
    return pytest.param(patient, marks=pytest.mark.skipif(
        missing, reason=f"{patient} not found at {EXTERNAL} (set OMNET_EXTERNAL_DIR)"))


@pytest.mark.slow
@pytest.mark.parametrize("patient", [_case(patient) for patient in sorted(PATIENTS)])
def test_the_shipped_model_agrees_with_the_brats_algorithms(patient):
    from omnet import segment

    images, reference = _folders(patient)
    ours = region_masks(sitk.GetArrayFromImage(segment(images, None, device="cpu").labels))
    theirs = region_masks(sitk.GetArrayFromImage(sitk.ReadImage(str(reference))))
    whole, core, enhancing = PATIENTS[patient]
    assert dice(ours["whole"], theirs["whole"]) >= whole
    assert dice(ours["core"], theirs["core"]) >= core
    if enhancing is None:   # a non-enhancing glioma: nothing may be called enhancing
        assert not theirs["enhancing"].any()
        assert np.count_nonzero(ours["enhancing"]) == 0
    else:
        assert dice(ours["enhancing"], theirs["enhancing"]) >= enhancing
