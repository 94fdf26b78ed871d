"""Overlap metrics against SimpleITK, MedPy and hand-counted masks; the empty-region policy."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from medpy.metric import binary as medpy_binary

from omnet.evaluation import (
    BRATS_HD95_PENALTY_MM,
    EmptyPolicy,
    dice,
    evaluate_label_maps,
    hd95,
    overlap_counts,
    region_masks,
    region_metrics,
)
from omnet.labels import BRATS2018, BRATS2023, MSD, convert_scheme


def random_mask(rng: np.random.Generator, shape=(20, 24, 28), density=0.3) -> np.ndarray:
    return rng.random(shape) < density


def sitk_overlap(pred: np.ndarray, ref: np.ndarray,
                 spacing_xyz) -> sitk.LabelOverlapMeasuresImageFilter:
    images = []
    for mask in (pred, ref):
        image = sitk.GetImageFromArray(mask.astype(np.uint8))
        image.SetSpacing(spacing_xyz)
        images.append(image)
    measures = sitk.LabelOverlapMeasuresImageFilter()
    measures.Execute(images[0], images[1])  # ITK: source = segmentation, target = truth
    return measures


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("density", [0.05, 0.4])
def test_dice_matches_simpleitk_and_medpy_on_random_masks(seed, density):
    rng = np.random.default_rng(seed)
    pred, ref = random_mask(rng, density=density), random_mask(rng, density=density)
    measures = sitk_overlap(pred, ref, (0.7, 1.1, 3.0))
    assert dice(pred, ref) == pytest.approx(measures.GetDiceCoefficient(), abs=1e-12)
    assert dice(pred, ref) == pytest.approx(medpy_binary.dc(pred, ref), abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_sensitivity_ppv_specificity_match_independent_implementations(seed):
    rng = np.random.default_rng(100 + seed)
    pred, ref = random_mask(rng, density=0.2), random_mask(rng, density=0.3)
    m = region_metrics(pred, ref, (3.0, 1.1, 0.7))
    assert m.sensitivity == pytest.approx(medpy_binary.sensitivity(pred, ref), abs=1e-12)
    assert m.ppv == pytest.approx(medpy_binary.precision(pred, ref), abs=1e-12)
    assert m.specificity == pytest.approx(medpy_binary.specificity(pred, ref), abs=1e-12)
    measures = sitk_overlap(pred, ref, (0.7, 1.1, 3.0))
    assert m.sensitivity == pytest.approx(1 - measures.GetFalseNegativeError(), abs=1e-12)
    # ITK's false positive error is the false positive rate FP / (FP + TN).
    assert m.specificity == pytest.approx(1 - measures.GetFalsePositiveError(), abs=1e-12)


def test_hand_counted_masks():
    # 1 x 2 x 5 grid: reference = 4 voxels, prediction = 3 voxels, 2 of them correct.
    ref = np.array([[[1, 1, 1, 1, 0], [0, 0, 0, 0, 0]]], dtype=bool)
    pred = np.array([[[0, 0, 1, 1, 0], [0, 0, 0, 0, 1]]], dtype=bool)
    assert overlap_counts(pred, ref) == (2, 1, 2, 5)
    m = region_metrics(pred, ref, (1.0, 2.0, 0.5))
    assert m.dice == pytest.approx(2 * 2 / (3 + 4))
    assert m.sensitivity == pytest.approx(2 / 4)
    assert m.ppv == pytest.approx(2 / 3)
    assert m.specificity == pytest.approx(5 / 6)
    assert (m.pred_voxels, m.ref_voxels) == (3, 4)
    assert m.ref_ml == pytest.approx(4 * 1.0 * 2.0 * 0.5 / 1000)


def test_empty_region_policy():
    empty = np.zeros((6, 6, 6), dtype=bool)
    blob = empty.copy()
    blob[2:4, 2:4, 2:4] = True
    both = region_metrics(empty, empty, (1, 1, 1))
    assert (both.dice, both.sensitivity, both.ppv, both.hd95) == (1.0, 1.0, 1.0, 0.0)
    missed = region_metrics(empty, blob, (1, 1, 1))
    assert (missed.dice, missed.sensitivity, missed.ppv) == (0.0, 0.0, 0.0)
    assert missed.hd95 == BRATS_HD95_PENALTY_MM == pytest.approx(np.sqrt(240**2 + 240**2 + 155**2),
                                                                  abs=0.005)
    invented = region_metrics(blob, empty, (1, 1, 1))
    assert (invented.dice, invented.sensitivity, invented.ppv) == (0.0, 0.0, 0.0)
    assert invented.hd95 == BRATS_HD95_PENALTY_MM
    assert hd95(blob, empty, (1, 1, 1), EmptyPolicy(hd95_penalty_mm=50.0)) == 50.0
    with pytest.raises(ValueError, match="penalty"):
        EmptyPolicy(hd95_penalty_mm=float("nan"))


def brats_like_labels(rng: np.random.Generator, shape=(16, 18, 20)) -> np.ndarray:
    """Random 2018-scheme map with all three sub-regions."""
    return rng.choice(np.array([0, 1, 2, 4], dtype=np.uint8), size=shape, p=[0.6, 0.1, 0.2, 0.1])


def test_region_masks_are_the_brats_regions():
    labels = np.array([0, 1, 2, 4, 4, 2], dtype=np.uint8)
    masks = region_masks(labels, BRATS2018)
    assert masks["whole"].tolist() == [False, True, True, True, True, True]
    assert masks["core"].tolist() == [False, True, False, True, True, False]
    assert masks["enhancing"].tolist() == [False, False, False, True, True, False]
    msd = np.array([0, 2, 1, 3, 3, 1], dtype=np.uint8)  # MSD: 1 edema, 2 NCR/NET, 3 ET
    for name, mask in region_masks(msd, MSD).items():
        assert mask.tolist() == masks[name].tolist()


@pytest.mark.parametrize("pred_scheme", [BRATS2018, BRATS2023, MSD])
def test_label_schemes_on_either_side_give_the_same_metrics(pred_scheme):
    rng = np.random.default_rng(7)
    ref = brats_like_labels(rng)
    pred = brats_like_labels(rng)
    expected = evaluate_label_maps(pred, ref, (1.0, 1.0, 2.0))
    converted = convert_scheme(pred, BRATS2018, pred_scheme)
    got = evaluate_label_maps(converted, convert_scheme(ref, BRATS2018, BRATS2023),
                              (1.0, 1.0, 2.0), pred_scheme, BRATS2023)
    assert got == expected
    assert all(m.dice < 0.9 for m in expected.values())  # a random map is far off ...
    same = evaluate_label_maps(convert_scheme(ref, BRATS2018, pred_scheme), ref,
                               (1.0, 1.0, 2.0), pred_scheme, BRATS2018)
    assert all(m.dice == 1.0 and m.hd95 == 0.0 for m in same.values())  # ... its own copy not


def test_shape_and_spacing_errors():
    a = np.zeros((4, 4, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match="shapes differ"):
        evaluate_label_maps(a, np.zeros((4, 4, 5), dtype=np.uint8), (1, 1, 1))
    with pytest.raises(ValueError, match="spacing"):
        evaluate_label_maps(a, a, (1, 1))
