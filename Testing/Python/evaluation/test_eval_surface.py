"""Hausdorff distances against a brute-force k-d tree, MedPy and spheres of known distance."""

from __future__ import annotations

import numpy as np
import pytest
from medpy.metric import binary as medpy_binary
from scipy import ndimage
from scipy.spatial import cKDTree

from omnet.evaluation import directed_surface_distances, hausdorff_distance, hd95


def brute_surface_points(mask: np.ndarray, spacing) -> np.ndarray:
    """Voxel centres (mm) of mask voxels with a face neighbour outside (padding = outside)."""
    padded = np.pad(mask, 1, constant_values=False)
    core = padded[1:-1, 1:-1, 1:-1]
    outside_neighbour = np.zeros_like(mask)
    for axis in range(3):
        for step in (-1, 1):
            outside_neighbour |= ~np.roll(padded, step, axis=axis)[1:-1, 1:-1, 1:-1]
    return np.argwhere(core & outside_neighbour) * np.asarray(spacing, dtype=float)


def brute_hausdorff(a: np.ndarray, b: np.ndarray, spacing, percentile: float) -> float:
    pa, pb = brute_surface_points(a, spacing), brute_surface_points(b, spacing)
    a_to_b = cKDTree(pb).query(pa)[0]
    b_to_a = cKDTree(pa).query(pb)[0]
    return max(np.percentile(a_to_b, percentile), np.percentile(b_to_a, percentile))


def random_blob(rng: np.random.Generator, shape, threshold: float) -> np.ndarray:
    """Irregular blobs: smoothed noise above a threshold (may touch the image border)."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), 2.0)
    return field > threshold * field.std()


SPACINGS = [(1.0, 1.0, 1.0), (2.5, 0.9, 1.3), (0.5, 3.0, 1.0)]


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("seed", range(4))
def test_hd95_matches_brute_force_kdtree(seed, spacing):
    rng = np.random.default_rng(seed)
    shape = (18, 22, 26)
    a, b = random_blob(rng, shape, 0.6), random_blob(rng, shape, 0.9)
    assert a.any() and b.any()
    for p in (95.0, 100.0, 50.0):
        assert hausdorff_distance(a, b, spacing, p) == pytest.approx(
            brute_hausdorff(a, b, spacing, p), rel=1e-9, abs=1e-9)


def test_masks_touching_the_image_border():
    a = np.zeros((10, 12, 14), dtype=bool)
    b = a.copy()
    a[0:4, 0:5, 3:9] = True
    b[2:10, 4:12, 5:14] = True
    spacing = (2.0, 1.0, 0.7)
    assert hausdorff_distance(a, b, spacing, 95) == pytest.approx(
        brute_hausdorff(a, b, spacing, 95), rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_full_hausdorff_matches_medpy(seed):
    rng = np.random.default_rng(50 + seed)
    a, b = random_blob(rng, (16, 20, 24), 0.7), random_blob(rng, (16, 20, 24), 0.7)
    spacing = (1.7, 0.8, 1.1)
    assert hausdorff_distance(a, b, spacing, 100) == pytest.approx(
        medpy_binary.hd(a, b, voxelspacing=spacing), rel=1e-9)
    # MedPy's hd95 pools both directions before the percentile: never above ours.
    assert medpy_binary.hd95(a, b, voxelspacing=spacing) <= hd95(a, b, spacing) + 1e-9


def ball(shape, centre_mm, radius_mm, spacing) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing="ij")
    return sum((g - c) ** 2 for g, c in zip(grids, centre_mm)) <= radius_mm**2


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.0, 1.0, 0.5)])
def test_concentric_spheres_are_their_radius_difference_apart(spacing):
    shape = tuple(round(60 / s) for s in spacing)
    centre = (30.0, 30.0, 30.0)
    inner, outer = ball(shape, centre, 10.0, spacing), ball(shape, centre, 20.0, spacing)
    # Every surface point of one sphere is 10 mm from the other; voxelisation moves each
    # surface by at most half a voxel diagonal.
    tolerance = float(np.linalg.norm(spacing))
    assert hd95(inner, outer, spacing) == pytest.approx(10.0, abs=tolerance)
    assert hausdorff_distance(outer, inner, spacing, 100) == pytest.approx(10.0, abs=tolerance)


def test_shifted_sphere_full_hausdorff_is_the_shift():
    spacing = (1.0, 1.0, 1.0)
    a = ball((50, 50, 60), (25.0, 25.0, 25.0), 12.0, spacing)
    b = ball((50, 50, 60), (25.0, 25.0, 32.0), 12.0, spacing)
    assert hausdorff_distance(a, b, spacing, 100) == pytest.approx(7.0, abs=1.0)
    assert hausdorff_distance(a, b, spacing, 95) < 7.0 + 1.0


def test_symmetry_and_identity():
    rng = np.random.default_rng(3)
    a, b = random_blob(rng, (14, 16, 18), 0.5), random_blob(rng, (14, 16, 18), 0.8)
    spacing = (1.2, 0.6, 2.0)
    assert hd95(a, b, spacing) == hd95(b, a, spacing)
    assert hd95(a, a, spacing) == 0.0
    assert directed_surface_distances(a, a, spacing).max() == 0.0


def test_bad_arguments():
    a = np.ones((3, 3, 3), dtype=bool)
    with pytest.raises(ValueError, match="non-empty"):
        hausdorff_distance(a, np.zeros_like(a), (1, 1, 1))
    with pytest.raises(ValueError, match="positive"):
        hausdorff_distance(a, a, (1, 0, 1))
    with pytest.raises(ValueError, match="percentile"):
        hausdorff_distance(a, a, (1, 1, 1), percentile=101)


def test_real_brats_case_against_independent_implementations(brats_case, tmp_path):
    """A real 240 x 240 x 155 reference against a shifted, relabelled (2023) copy of itself."""
    import SimpleITK as sitk

    from omnet.evaluation.files import evaluate_files

    ref_path = brats_case / f"{brats_case.name}_seg.nii.gz"
    reference = sitk.ReadImage(str(ref_path))
    ref = sitk.GetArrayFromImage(reference)
    pred = np.roll(ref, (2, -3, 4), axis=(0, 1, 2))
    pred[pred == 4] = 3
    image = sitk.GetImageFromArray(pred)
    image.CopyInformation(reference)
    sitk.WriteImage(image, str(tmp_path / "pred.nii.gz"))
    result = evaluate_files(tmp_path / "pred.nii.gz", ref_path)
    spacing = reference.GetSpacing()[::-1]
    for region, (pred_values, ref_values) in {"whole": ((1, 2, 3), (1, 2, 4)),
                                              "core": ((1, 3), (1, 4)),
                                              "enhancing": ((3,), (4,))}.items():
        p, r = np.isin(pred, pred_values), np.isin(ref, ref_values)
        assert result.regions[region].dice == pytest.approx(medpy_binary.dc(p, r), abs=1e-12)
        assert result.regions[region].hd95 == pytest.approx(
            brute_hausdorff(p, r, spacing, 95), rel=1e-9)
