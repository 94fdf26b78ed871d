"""A real case re-acquired in other file layouts segments as the original (bundled model).

Lossless re-orderings (sagittal slices, flipped axes, another origin) must give the same
segmentation within whole-tumour Dice 0.95 once both are on one grid. Lossy re-samplings
(thick, oblique, mixed resolutions) are measured by ``tools/measure_variants.py``.
"""

from __future__ import annotations

import pytest
import SimpleITK as sitk

from omnet.data.discovery import find_case_files
from omnet.data.imageio import read_case
from omnet.demo.variants import make_variant
from omnet.evaluation import dice, region_masks


@pytest.fixture(scope="module")
def original(brats_dir):
    from omnet import segment

    raw = read_case(find_case_files(brats_dir / "Brats18_TCIA02_135_1", need_seg=True))
    result = segment(raw.images, None, device="cpu")
    return raw, region_masks(sitk.GetArrayFromImage(result.labels))["whole"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sagittal", "flipped", "other_origin"])
def test_a_reordered_case_segments_as_the_original(original, name):
    from omnet import segment

    raw, whole = original
    variant = make_variant(name, raw.images, raw.seg)
    result = segment(variant.images, None, device="cpu")
    back = sitk.GetArrayFromImage(variant.back(result.labels))
    assert dice(region_masks(back)["whole"], whole) >= 0.95
