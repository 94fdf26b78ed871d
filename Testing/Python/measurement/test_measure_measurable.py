"""RANO measurability: 10 mm, or twice the slice thickness above 5 mm, on two or more slices.

Disks drawn in array index space (voxel centres within a radius), so their diameters are
known by hand: a disk of centres within 5.2 mm on 0.5 mm pixels is 21 pixels (10.5 mm)
across along the axes, and at most a little over 11 mm corner to corner; checked here by
brute force over the pixel corners.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.measurement import measure_image


def disk_stack(in_plane_mm: float, thickness_mm: float, radius_mm: float, slices: int,
               direction=(1, 0, 0, 0, 1, 0, 0, 0, 1)) -> sitk.Image:
    """Enhancing (4): the same disk on ``slices`` consecutive slices of a z-sliced grid."""
    n = int(2 * radius_mm / in_plane_mm) + 9
    yy, xx = (np.indices((n, n)) - n // 2) * in_plane_mm
    array = np.zeros((slices + 4, n, n), dtype=np.uint8)
    array[2:2 + slices][:, yy ** 2 + xx ** 2 <= radius_mm ** 2] = 4
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((in_plane_mm, in_plane_mm, thickness_mm))
    image.SetDirection(tuple(float(v) for v in direction))
    return image


def brute_force_long_mm(radius_mm: float, pixel_mm: float) -> float:
    """Largest distance between two pixel corners of the disk (edge to edge)."""
    k = int(radius_mm / pixel_mm) + 1
    centres = [(i, j) for i in range(-k, k + 1) for j in range(-k, k + 1)
               if (i * pixel_mm) ** 2 + (j * pixel_mm) ** 2 <= radius_mm ** 2]
    corners = {(i + a, j + b) for i, j in centres for a in (-0.5, 0.5) for b in (-0.5, 0.5)}
    outer = [c for c in corners if math.hypot(*c) * pixel_mm > radius_mm - pixel_mm]
    return max(math.dist(p, q) for p, q in combinations(outer, 2)) * pixel_mm


def only_lesion(image: sitk.Image):
    (lesion,) = measure_image(image).regions["enhancing"]
    return lesion.rano


def test_the_disk_is_between_10_and_12_mm():
    rano = only_lesion(disk_stack(0.5, 5.0, 5.2, 3))
    assert rano.long_mm == pytest.approx(brute_force_long_mm(5.2, 0.5), abs=1e-6)
    assert 10.0 <= rano.perpendicular_mm <= rano.long_mm < 12.0


@pytest.mark.parametrize(("thickness", "minimum", "measurable"),
                         [(1.0, 10.0, True), (5.0, 10.0, True), (6.0, 12.0, False)])
def test_thick_slices_need_twice_the_thickness(thickness, minimum, measurable):
    rano = only_lesion(disk_stack(0.5, thickness, 5.2, 3))
    assert rano.min_diameter_mm == minimum
    assert rano.measurable is measurable
    assert rano.to_dict()["min_diameter_mm"] == minimum


def test_thick_slices_large_lesion_is_measurable():
    rano = only_lesion(disk_stack(1.0, 6.0, 9.0, 2))
    assert rano.long_mm >= 12.0 and rano.measurable


def test_a_lesion_on_one_slice_is_not_measurable():
    image = disk_stack(1.0, 1.0, 10.0, 1)
    report = measure_image(image)
    (lesion,) = report.regions["enhancing"]
    assert lesion.rano.slices == 1 and lesion.rano.long_mm > 20.0
    assert not lesion.rano.measurable
    assert report.targets == [] and report.sum_of_products_mm2 == 0.0
    assert report.to_dict()["rano"]["measurable_lesions"] == 0


def test_slices_of_a_resampled_oblique_lesion_are_the_image_slices():
    """Tilted 20 degrees about L, 5 mm slices: the lesion lies on 3 of the image's slices,
    although the axial grid it is resampled onto (1 mm) cuts it into about 20."""
    c, s = math.cos(math.radians(20.0)), math.sin(math.radians(20.0))
    rano = only_lesion(disk_stack(1.0, 5.0, 10.0, 3, direction=(1, 0, 0, 0, c, -s, 0, s, c)))
    assert rano.resampled
    assert rano.slices == 3
    assert rano.min_diameter_mm == 10.0 and rano.measurable
