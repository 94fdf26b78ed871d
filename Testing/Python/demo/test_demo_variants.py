"""Re-acquired variants: the ways between the variant's grid and the original's.

A label map must meet the other on one grid without the way itself deciding the answer:
lossless re-orderings go there and back unchanged, ``forward`` takes a label map where the
variant's own label map went, and ``smooth`` brings a thick-slice label map's whole tumour
and core back closer to the truth than nearest neighbour's steps (a 3 mm rim gains nothing).
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.demo.variants import make_variant
from omnet.evaluation import dice, region_masks


def _case(shape=(60, 64, 64)):
    """A tumour (edema shell, necrotic core, enhancing rim) in a brain-like box, 1 mm."""
    z, y, x = np.indices(shape)
    r = np.sqrt((z - 30.0) ** 2 + (y - 30.0) ** 2 + (x - 34.0) ** 2)
    labels = np.zeros(shape, np.uint8)
    labels[r < 18] = 2
    labels[r < 11] = 4
    labels[r < 8] = 1
    seg = sitk.GetImageFromArray(labels)
    seg.SetSpacing((1.0, 1.0, 1.0))
    seg.SetOrigin((-32.0, -30.0, -20.0))
    brain = sitk.GetImageFromArray((100.0 + labels * 10.0).astype(np.float32))
    brain.CopyInformation(seg)
    images = {role: brain for role in ("flair", "t1", "t1ce", "t2")}
    return images, seg, labels


@pytest.mark.parametrize("name", ["sagittal", "flipped", "other_origin"])
def test_a_lossless_variant_goes_there_and_back_unchanged(name):
    images, seg, labels = _case()
    variant = make_variant(name, images, seg)
    there = variant.forward(seg)
    assert np.array_equal(sitk.GetArrayFromImage(there), sitk.GetArrayFromImage(variant.seg))
    assert np.array_equal(sitk.GetArrayFromImage(variant.back(there)), labels)
    assert np.array_equal(sitk.GetArrayFromImage(variant.back(there, smooth=True)), labels)


@pytest.mark.parametrize("name", ["thick_axial", "oblique"])
def test_forward_takes_a_label_map_where_the_variants_own_went(name):
    images, seg, _ = _case()
    variant = make_variant(name, images, seg)
    there = variant.forward(seg)
    assert there.GetSize() == variant.reference.GetSize()
    assert np.array_equal(sitk.GetArrayFromImage(there), sitk.GetArrayFromImage(variant.seg))


def test_smooth_brings_thick_slices_back_closer_than_nearest_steps():
    images, seg, labels = _case()
    variant = make_variant("thick_axial", images, seg)
    truth = region_masks(labels)
    steps = region_masks(sitk.GetArrayFromImage(variant.back(variant.seg)))
    smooth = sitk.GetArrayFromImage(variant.back(variant.seg, smooth=True))
    assert set(np.unique(smooth)) <= {0, 1, 2, 4}
    smooth_regions = region_masks(smooth)
    for region in ("whole", "core"):
        assert dice(smooth_regions[region], truth[region]) > dice(steps[region], truth[region])
    assert dice(smooth_regions["whole"], truth["whole"]) > 0.95
