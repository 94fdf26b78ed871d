"""The preparation's way there and back: restore(prepare(x)) on oblique, anisotropic and
re-ordered grids, and BraTS volumes prepared exactly as before (no interpolation)."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from head_phantom import grid_points, rotation

from omnet.data.discovery import find_case_files
from omnet.data.imageio import align_case, read_case
from omnet.preparation import PrepareSettings, prepare
from omnet.preparation.grids import Grid, lattice_offset, resample_array
from omnet.preprocessing.prepare import prepare_network_input

OFF = PrepareSettings(register="off", skull_strip="off")
OBLIQUE = {"size": (150, 160, 40), "spacing": (1.2, 1.2, 4.0), "origin": (10.0, -190.0, 5.0),
           "direction": rotation(15.0, 10.0)}


def _crop_points(prepared) -> np.ndarray:
    grid = prepared.canonical
    points = grid_points(grid.size, grid.spacing, grid.origin, grid.direction)
    return points[prepared.box]


def _linear(points: np.ndarray) -> np.ndarray:
    return (100.0 + 0.7 * points[..., 0] - 0.4 * points[..., 1] + 0.25 * points[..., 2]
            ).astype(np.float32)


def test_a_linear_field_comes_back_within_interpolation_error(head):
    prepared = prepare(head(**OBLIQUE), OFF)
    restored = prepared.restore(_linear(_crop_points(prepared)), fill=np.nan)
    ref = prepared.reference
    truth = _linear(grid_points(ref.GetSize(), ref.GetSpacing(), ref.GetOrigin(),
                                ref.GetDirection()))
    inside = np.isfinite(restored)
    brain = sitk.GetArrayViewFromImage(ref) != 0
    assert inside[brain].mean() > 0.99  # the crop covers the brain
    assert np.abs(restored[inside] - truth[inside]).max() < 1e-2


def test_a_label_map_comes_back_unchanged_but_at_its_edge(head):
    prepared = prepare(head(**OBLIQUE), OFF)
    points = _crop_points(prepared)
    plane = points[..., 0] - 0.5 * points[..., 2]
    labels = np.where(plane > 80.0, 2, 1).astype(np.uint8)
    restored = prepared.restore(labels, fill=0, nearest=True)
    ref = prepared.reference
    ref_points = grid_points(ref.GetSize(), ref.GetSpacing(), ref.GetOrigin(),
                             ref.GetDirection())
    ref_plane = ref_points[..., 0] - 0.5 * ref_points[..., 2]
    expected = np.where(ref_plane > 80.0, 2, 1)
    covered = restored > 0
    near_edge = np.abs(ref_plane - 80.0) < 1.0  # within one canonical voxel of the plane
    assert covered.sum() > 0.3 * covered.size
    assert (restored[covered & ~near_edge] == expected[covered & ~near_edge]).all()


@pytest.mark.parametrize("change", [
    lambda im: sitk.Flip(im, [True, False, True]),
    lambda im: sitk.Flip(im, [False, True, False]),
    lambda im: sitk.PermuteAxes(im, [2, 0, 1]),  # sagittal slices
    lambda im: sitk.PermuteAxes(im, [0, 2, 1]),  # coronal slices
], ids=["flip_x_z", "flip_y", "sagittal", "coronal"])
def test_the_network_sees_the_same_volume_whatever_the_file_order(head, change):
    case = head(spacing=(1.0, 1.0, 1.0), size=(180, 200, 150))
    plain = prepare(case, OFF)
    changed = prepare({role: change(image) for role, image in case.items()}, OFF)
    assert changed.canonical == plain.canonical
    assert np.array_equal(changed.volume, plain.volume)
    assert changed.steps[4]["interpolated"] == []  # same lattice: copied, not interpolated


def test_restore_goes_back_to_each_file_order(head):
    case = head(spacing=(1.0, 1.0, 1.0), size=(180, 200, 150))
    flipped = {role: sitk.PermuteAxes(sitk.Flip(image, [True, False, False]), [2, 0, 1])
               for role, image in case.items()}
    prepared = prepare(flipped, OFF)
    mask = prepared.brain_image()
    assert Grid.of(mask) == Grid.of(flipped["t1ce"])
    assert np.array_equal(sitk.GetArrayViewFromImage(mask) > 0,
                          sitk.GetArrayViewFromImage(flipped["t1ce"]) != 0)


def test_lattice_copy_equals_resampling():
    source = Grid((20, 18, 16), (1.0, 1.0, 2.0), (3.0, -4.0, 1.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    target = Grid((12, 25, 9), (1.0, 1.0, 2.0), (-2.0, 0.0, 5.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    values = np.random.default_rng(0).normal(size=source.shape).astype(np.float32)
    assert lattice_offset(target, source) == (2, 4, -5)
    fast = resample_array(values, source, target, fill=-1.0)
    image = source.image(values)
    slow = sitk.GetArrayFromImage(sitk.Resample(image, target.image(), sitk.Transform(),
                                                sitk.sitkNearestNeighbor, -1.0,
                                                sitk.sitkFloat32))
    assert np.array_equal(fast, slow)


def test_a_brats_case_is_prepared_exactly_as_before(brats_case):
    """BraTS volumes are on the canonical lattice: the network input is unchanged."""
    raw = read_case(find_case_files(brats_case))
    before = prepare_network_input(align_case(raw).images)
    after = prepare(raw, PrepareSettings(skull_strip="off"))
    assert np.array_equal(after.volume, before.volume)
    assert np.array_equal(after.brain, before.brain)
    full = np.zeros((155, 240, 240), dtype=np.uint8)
    full[before.box] = before.brain
    assert np.array_equal(after.restore(after.brain.astype(np.uint8), 0, True), full)


@pytest.mark.parametrize("change", [
    lambda im: sitk.Flip(im, [True, False, True]), lambda im: sitk.PermuteAxes(im, [1, 2, 0]),
    lambda im: sitk.PermuteAxes(sitk.Flip(im, [False, True, False]), [2, 0, 1])])
def test_lattice_copy_of_reordered_axes_equals_resampling(change):
    values = np.random.default_rng(1).normal(size=(16, 18, 20)).astype(np.float32)
    image = sitk.GetImageFromArray(values)
    image.SetOrigin((3.0, -4.0, 1.0))
    image.SetSpacing((1.0, 1.0, 2.0))
    target = Grid((12, 25, 9), (1.0, 1.0, 2.0), (-2.0, 0.0, 5.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    moved = change(image)
    fast = resample_array(sitk.GetArrayFromImage(moved), Grid.of(moved), target, fill=-1.0)
    slow = sitk.GetArrayFromImage(sitk.Resample(image, target.image(), sitk.Transform(),
                                                sitk.sitkNearestNeighbor, -1.0,
                                                sitk.sitkFloat32))
    assert np.array_equal(fast, slow)
