"""The perpendicular diameter of shapes made of whole voxels, whose diameters are exact.

An L of two 30 x 10 mm arms and a 30 x 10 mm rectangle are unions of voxel squares, so
their edge-to-edge diameters are known in closed form: the L's longest diameter joins the
arms' far corners (30 sqrt 2 mm) and the longest chord perpendicular to it crosses the arms'
corner (10 sqrt 2 mm); the rectangle's longest diameter is its diagonal d and the longest
chord perpendicular to it runs from the bottom edge to the top one, h d / w mm. A
perpendicular line that took every voxel it meets whole reaches beyond the lesion by up to
half a voxel diagonal at each end, which these exact answers show.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.measurement import measure_image

IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
ROTATED_30_ABOUT_S = (math.cos(math.pi / 6), -math.sin(math.pi / 6), 0.0,
                      math.sin(math.pi / 6), math.cos(math.pi / 6), 0.0, 0.0, 0.0, 1.0)
SAGITTAL = (0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0)   # image x: A-P, y: S, z: L-R


def l_shape(step_mm: float) -> np.ndarray:
    """(z, y, x) array: an L of two arms, 30 x 10 mm each, on 3 slices, in-plane voxels of
    ``step_mm``."""
    n, arm, margin = round(30 / step_mm), round(10 / step_mm), 2
    array = np.zeros((5, n + 2 * margin, n + 2 * margin), dtype=np.uint8)
    array[1:4, margin:margin + arm, margin:margin + n] = 4
    array[1:4, margin:margin + n, margin:margin + arm] = 4
    return array


def image(array: np.ndarray, spacing, direction=IDENTITY) -> sitk.Image:
    out = sitk.GetImageFromArray(array)
    out.SetSpacing(spacing)
    out.SetDirection(direction)
    out.SetOrigin((12.0, -30.0, 7.0))
    return out


def ends_on_the_lesion(image_: sitk.Image, ends) -> bool:
    """Whether both RAS points lie in (or on the edge of) one of the lesion's voxels."""
    array = sitk.GetArrayFromImage(image_)
    for end in ends:
        lps = (-end[0], -end[1], end[2])
        index = np.asarray(image_.TransformPhysicalPointToContinuousIndex(lps))
        near = [np.unique(np.floor(np.array([c - 1e-6, c + 1e-6]) + 0.5).astype(int))
                for c in index]
        if not any(array[z, y, x] == 4 for x in near[0] for y in near[1] for z in near[2]):
            return False
    return True


@pytest.mark.parametrize(("name", "step", "direction"), [
    ("axial 1 mm", 1.0, IDENTITY),
    ("axial 0.5 mm", 0.5, IDENTITY),
    ("rotated 30 degrees about S", 1.0, ROTATED_30_ABOUT_S),
])
def test_l_shaped_lesion(name, step, direction):
    labels = image(l_shape(step), (step, step, 2.0), direction)
    (lesion,) = measure_image(labels).regions["enhancing"]
    assert lesion.rano.long_mm == pytest.approx(30 * math.sqrt(2), abs=1e-6)
    assert lesion.rano.perpendicular_mm == pytest.approx(10 * math.sqrt(2), abs=1e-6)
    assert ends_on_the_lesion(labels, lesion.rano.perpendicular_axis_ras_mm)


def test_l_shaped_lesion_stored_sagittally():
    axial = l_shape(1.0)                                    # (z, y, x) = (S, P, L)
    labels = image(np.ascontiguousarray(axial.transpose(2, 0, 1)), (1.0, 2.0, 1.0), SAGITTAL)
    (lesion,) = measure_image(labels).regions["enhancing"]
    assert lesion.rano.long_mm == pytest.approx(30 * math.sqrt(2), abs=1e-6)
    assert lesion.rano.perpendicular_mm == pytest.approx(10 * math.sqrt(2), abs=1e-6)
    assert ends_on_the_lesion(labels, lesion.rano.perpendicular_axis_ras_mm)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.5, 1.25, 3.0)])
def test_rectangle_perpendicular_to_its_diagonal(spacing):
    width, height = 30.0, 10.0
    array = np.zeros((4, 20 + round(height / spacing[1]), 4 + round(width / spacing[0])),
                     dtype=np.uint8)
    array[1:3, 2:2 + round(height / spacing[1]), 2:2 + round(width / spacing[0])] = 4
    labels = image(array, spacing)
    (lesion,) = measure_image(labels).regions["enhancing"]
    diagonal = math.hypot(width, height)
    assert lesion.rano.long_mm == pytest.approx(diagonal, abs=1e-6)
    assert lesion.rano.perpendicular_mm == pytest.approx(height * diagonal / width, abs=1e-6)
    assert ends_on_the_lesion(labels, lesion.rano.perpendicular_axis_ras_mm)
