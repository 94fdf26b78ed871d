"""z-score normalisation, brain mask and box, padding and paste-back on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from omnet.errors import InputError
from omnet.preprocessing.crop import bbox_shape, brain_bbox, brain_mask, pad_to_multiple, paste_back
from omnet.preprocessing.normalize import zscore_nonzero


def test_zscore_uses_each_channels_nonzero_voxels_and_leaves_input_alone():
    images = np.zeros((2, 2, 2, 3), dtype=np.int16)
    images[0, 0, 0, :] = [1, 2, 3]
    images[1, 1, 1, :2] = [10, 30]
    before = images.copy()
    out = zscore_nonzero(images)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(images, before)
    values = np.array([1, 2, 3], dtype=float)
    np.testing.assert_allclose(out[0, 0, 0], (values - 2) / values.std(), rtol=1e-6)
    np.testing.assert_allclose(out[1, 1, 1, :2], [-1.0, 1.0], rtol=1e-6)
    assert out[0][images[0] == 0].max() == 0 and out[1][images[1] == 0].max() == 0


def test_zscore_with_a_shared_mask_and_a_constant_channel():
    images = np.full((2, 3, 3, 3), 5.0, dtype=np.float32)
    images[0, 0] = 1.0
    mask = np.zeros((3, 3, 3), dtype=bool)
    mask[0, 0, :] = True
    mask[2, 2, :] = True
    out = zscore_nonzero(images, mask)
    np.testing.assert_allclose(out[0][mask], [-1, -1, -1, 1, 1, 1], rtol=1e-6)
    np.testing.assert_array_equal(out[1], 0.0)  # constant: centred, no division by zero
    assert not out[0][~mask].any()


def test_a_few_hot_voxels_do_not_squash_the_rest_of_the_brain():
    rng = np.random.default_rng(0)
    brain = rng.normal(1000.0, 150.0, (1, 60, 100, 100)).clip(1.0).astype(np.float32)
    spiked = brain.copy()
    spiked[0, 5, 5, 5:10] = 1e7  # 5 hot voxels of a broken export
    clean, hot = zscore_nonzero(brain)[0], zscore_nonzero(spiked)[0]
    rest = np.ones(brain.shape[1:], dtype=bool)
    rest[5, 5, 5:10] = False
    assert np.abs(hot[rest] - clean[rest]).max() < 0.1
    assert np.abs(hot[~rest]).max() < 100.0  # clipped (about 62), not 1e7 / std (about 345)


def test_ordinary_intensities_are_not_clipped():
    rng = np.random.default_rng(1)
    brain = rng.gamma(4.0, 200.0, (1, 30, 40, 40)).astype(np.float32) + 1.0  # a long tail
    values = brain[0].astype(np.float64)
    expected = (values - values.mean()) / values.std()
    assert np.allclose(zscore_nonzero(brain)[0], expected, atol=1e-5)


def test_brain_mask_and_bbox_with_margin_clipped_to_the_volume():
    images = np.zeros((4, 10, 12, 14), dtype=np.float32)
    images[2, 3:5, 4:9, 1:2] = 7.0
    images[0, 6, 5, 12] = -1.0  # negative values are brain too
    mask = brain_mask(images)
    assert mask.sum() == 2 * 5 * 1 + 1
    box = brain_bbox(mask, margin=2)
    assert box == (slice(1, 9), slice(2, 11), slice(0, 14))
    assert brain_bbox(mask, margin=(0, 1, 3)) == (slice(3, 7), slice(3, 10), slice(0, 14))
    assert bbox_shape(box) == (8, 9, 14)


def test_brain_bbox_of_an_empty_mask_is_a_clear_error():
    with pytest.raises(InputError, match="no brain voxels"):
        brain_bbox(np.zeros((3, 3, 3), dtype=bool))


def test_pad_to_multiple_and_paste_back_round_trip():
    rng = np.random.default_rng(1)
    crop = rng.normal(size=(4, 5, 9, 16)).astype(np.float32)
    padded, inner = pad_to_multiple(crop, 8, minimum=(16, 0, 0))
    assert padded.shape == (4, 16, 16, 16)
    np.testing.assert_array_equal(padded[(..., *inner)], crop)
    assert not padded[:, 5:].any() and not padded[:, :, 9:].any()
    box = (slice(2, 7), slice(0, 9), slice(3, 19))
    full = paste_back(crop, box, (10, 9, 20), fill=-1)
    np.testing.assert_array_equal(full[(..., *box)], crop)
    assert (full[:, :2] == -1).all() and (full[..., 19:] == -1).all()
    same, _ = pad_to_multiple(np.zeros((8, 16, 24)), 8)
    assert same.shape == (8, 16, 24)
