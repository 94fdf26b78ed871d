"""Resampling onto the reference grid: anisotropic, oblique and cropped inputs, registration."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from conftest import linear_field, physical_points, rotation

from omnet.data.geometry import register_rigid, resample_onto, same_grid
from omnet.data.imageio import load_case
from omnet.errors import GeometryError


def _interior(moving: sitk.Image, reference: sitk.Image, shrink: float = 1.0) -> np.ndarray:
    """Reference voxels whose centres lie inside ``moving``'s voxel-centre hull, with margin."""
    pts = physical_points(reference).reshape(-1, 3)
    index = np.array([moving.TransformPhysicalPointToContinuousIndex(p.tolist()) for p in pts])
    size = np.array(moving.GetSize()) - 1
    inside = np.all((index >= shrink) & (index <= size - shrink), axis=1)
    return inside.reshape(sitk.GetArrayViewFromImage(reference).shape)


@pytest.mark.parametrize("spacing, direction, origin", [
    ((2.0, 1.5, 3.0), (1, 0, 0, 0, 1, 0, 0, 0, 1), (-1.0, 2.0, -3.0)),   # anisotropic
    ((1.2, 0.9, 2.5), rotation(20, 12), (4.0, -6.0, 2.0)),              # oblique
])
def test_resampling_reproduces_a_linear_field_exactly(make_image, spacing, direction, origin):
    reference = make_image(size=(30, 26, 20), spacing=(1.0, 1.0, 1.5))
    moving = make_image(size=(24, 30, 14), spacing=spacing, direction=direction, origin=origin)
    out = resample_onto(moving, reference)
    assert same_grid(out, reference)
    values = sitk.GetArrayFromImage(out)
    expected = linear_field(physical_points(reference))
    inside = _interior(moving, reference, shrink=0.01)
    assert inside.sum() > 500
    np.testing.assert_allclose(values[inside], expected[inside], atol=2e-3)


def test_a_cropped_sequence_is_zero_outside_its_field_of_view(make_image):
    reference = make_image(size=(30, 30, 20))
    moving = make_image(size=(10, 30, 20), origin=(12.0, 0.0, 0.0))  # a slab in x
    values = sitk.GetArrayFromImage(resample_onto(moving, reference))
    expected = linear_field(physical_points(reference))
    np.testing.assert_allclose(values[:, :, 12:22], expected[:, :, 12:22], atol=1e-3)
    assert not values[:, :, :12].any() and not values[:, :, 22:].any()


def test_an_image_on_the_reference_grid_is_not_resampled(make_image):
    reference = make_image()
    out = resample_onto(reference, reference)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(out),
                                  sitk.GetArrayViewFromImage(reference))


def test_no_physical_overlap_is_a_geometry_error(make_image):
    reference = make_image()
    far = make_image(origin=(500.0, 0.0, 0.0))
    with pytest.raises(GeometryError, match="does not overlap"):
        resample_onto(far, reference, name="T2")


def test_load_case_puts_all_sequences_on_the_t1c_grid(make_image):
    t1c = make_image(size=(20, 22, 12), spacing=(1.0, 1.0, 2.0), direction=rotation(0, 10))
    others = make_image(size=(16, 16, 16), spacing=(1.5, 1.5, 1.5), origin=(-2.0, -2.0, -4.0))
    seg = sitk.Cast(sitk.GetImageFromArray(
        (sitk.GetArrayFromImage(others) > 100).astype(np.uint8)), sitk.sitkUInt8)
    seg.CopyInformation(others)
    case = load_case({"flair": others, "t1": others, "t1ce": t1c, "t2": others, "seg": seg})
    assert case.images.shape == (4, 12, 22, 20) and case.images.dtype == np.float32
    assert case.reference is t1c
    np.testing.assert_array_equal(case.images[2], sitk.GetArrayFromImage(t1c))
    inside = _interior(others, t1c, shrink=0.01)
    np.testing.assert_allclose(case.images[0][inside], case.images[2][inside], atol=2e-3)
    assert case.seg.shape == (12, 22, 20) and set(np.unique(case.seg)) <= {0, 1}


def _blobs(size: int = 40) -> np.ndarray:
    zz, yy, xx = np.meshgrid(*[np.arange(size)] * 3, indexing="ij")
    out = np.zeros((size,) * 3, dtype=np.float32)
    for (cz, cy, cx), r, v in [((20, 18, 16), 9, 300), ((14, 26, 24), 5, 600),
                                ((26, 12, 25), 4, 900)]:
        out += v * np.exp(-((zz - cz) ** 2 + (yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    return out


def test_rigid_registration_recovers_a_shift_between_different_contrasts():
    fixed_array = _blobs()
    fixed = sitk.GetImageFromArray(fixed_array)
    shifted = np.roll(fixed_array, (2, -3, 3), axis=(0, 1, 2))
    moving = sitk.GetImageFromArray(1000.0 - shifted)  # inverted contrast: MI still aligns
    plain = sitk.GetArrayFromImage(resample_onto(moving, fixed))
    transform = register_rigid(fixed, moving, name="T2")
    aligned = sitk.GetArrayFromImage(resample_onto(moving, fixed, transform=transform))
    core = (slice(8, 32),) * 3
    error_plain = np.abs(1000.0 - plain[core] - fixed_array[core]).mean()
    error_registered = np.abs(1000.0 - aligned[core] - fixed_array[core]).mean()
    assert error_registered < 0.2 * error_plain
    moved = np.array(transform.TransformPoint((0.0, 0.0, 0.0)))
    np.testing.assert_allclose(moved, [3.0, -3.0, 2.0], atol=0.5)  # (x, y, z) of the roll


def test_load_case_with_registration_aligns_the_other_sequences():
    fixed_array = _blobs()
    t1c = sitk.GetImageFromArray(fixed_array)
    shifted = sitk.GetImageFromArray(np.roll(fixed_array, (0, 3, -2), axis=(0, 1, 2)) * 0.5)
    inputs = {"flair": shifted, "t1": shifted, "t1ce": t1c, "t2": shifted}
    plain = load_case(inputs)
    registered = load_case(inputs, register=True)
    core = ([0, 1, 3], *(slice(8, 32),) * 3)  # the three moved sequences
    error_plain = np.abs(plain.images[core] * 2 - fixed_array[core[1:]]).mean()
    error_registered = np.abs(registered.images[core] * 2 - fixed_array[core[1:]]).mean()
    assert error_registered < 0.05 * error_plain
    np.testing.assert_array_equal(registered.images[2], fixed_array)  # the reference stays
