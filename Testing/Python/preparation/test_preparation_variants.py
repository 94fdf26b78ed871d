"""A real case re-acquired in other file layouts segments as the original (bundled model).

Every variant must give the same segmentation within whole-tumour Dice 0.95 once both are on
one grid: lossless re-orderings (sagittal slices, flipped axes, another origin) on the
original's, lossy re-samplings (5 mm axial slices, 5 mm FLAIR / T1 / T2 with the 1 mm T1c,
oblique slices) on the variant's, where its answer lives (the original's label map taken
there as the variant's label map travelled). The bundled model trained on this case; the
figures on cases it never saw come from ``tools/measure_variants.py``.
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
    return raw, segment(raw.images, None, device="cpu").labels


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sagittal", "flipped", "other_origin"])
def test_a_reordered_case_segments_as_the_original(original, name):
    from omnet import segment

    raw, labels = original
    whole = region_masks(sitk.GetArrayFromImage(labels))["whole"]
    variant = make_variant(name, raw.images, raw.seg)
    result = segment(variant.images, None, device="cpu")
    back = sitk.GetArrayFromImage(variant.back(result.labels))
    assert dice(region_masks(back)["whole"], whole) >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("name", ["thick_axial", "mixed_resolution", "oblique"])
def test_a_resampled_case_segments_as_the_original_on_its_own_grid(original, name):
    from omnet import segment

    raw, first = original
    variant = make_variant(name, raw.images, raw.seg)
    result = segment(variant.images, None, device="cpu")
    mine = region_masks(sitk.GetArrayFromImage(result.labels))["whole"]
    theirs = region_masks(sitk.GetArrayFromImage(variant.forward(first)))["whole"]
    assert dice(mine, theirs) >= 0.95
