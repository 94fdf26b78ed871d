"""Maximal 3D diameter of each lesion, edge to edge over the voxels, in physical mm.

Expected values: a box of a x b x c voxels spans sqrt((a sx)^2 + (b sy)^2 + (c sz)^2) mm
corner to corner whatever the direction matrix; a random blob is checked against every
pair of its voxels' corners, placed by SimpleITK's own index-to-physical mapping.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from omnet.cli import main
from omnet.measurement import measure_image

SPACING = (0.5, 0.8, 5.0)


def oblique(array: np.ndarray, spacing=SPACING, seed: int = 3) -> sitk.Image:
    image = sitk.GetImageFromArray(array.astype(np.uint8))
    image.SetSpacing(spacing)
    rotation, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    image.SetDirection(tuple(float(v) for v in rotation.ravel()))
    image.SetOrigin((4.0, -9.0, 21.0))
    return image


def box_diagonal(x: int, y: int, z: int, spacing=SPACING) -> float:
    return math.sqrt((x * spacing[0]) ** 2 + (y * spacing[1]) ** 2 + (z * spacing[2]) ** 2)


@pytest.mark.parametrize("shape_zyx", [(3, 7, 11), (1, 1, 1), (1, 6, 9), (4, 1, 1)])
def test_box_spans_its_diagonal(shape_zyx):
    array = np.zeros((8, 12, 14), dtype=np.uint8)
    z, y, x = shape_zyx
    array[2:2 + z, 3:3 + y, 1:1 + x] = 4
    report = measure_image(oblique(array))
    (lesion,) = report.regions["enhancing"]
    assert lesion.max_diameter_mm == pytest.approx(box_diagonal(x, y, z), rel=1e-9)
    assert report.to_dict()["regions"]["enhancing"][0]["max_diameter_mm"] == pytest.approx(
        box_diagonal(x, y, z), rel=1e-9)


def test_random_blob_equals_brute_force_over_corners():
    rng = np.random.default_rng(7)
    labelled, _ = ndimage.label(rng.random((5, 7, 6)) < 0.3, np.ones((3, 3, 3)))
    largest = np.argmax(np.bincount(labelled.ravel())[1:]) + 1
    array = np.where(labelled == largest, 4, 0)
    image = oblique(array, spacing=(0.9, 1.7, 3.3), seed=11)
    corners = np.array([image.TransformContinuousIndexToPhysicalPoint(
        (float(x + dx), float(y + dy), float(z + dz)))
        for z, y, x in np.argwhere(array > 0)
        for dx, dy, dz in itertools.product((-0.5, 0.5), repeat=3)])
    brute = max(np.linalg.norm(corners - corner, axis=1).max() for corner in corners)
    (lesion,) = measure_image(image).regions["enhancing"]
    assert lesion.max_diameter_mm == pytest.approx(brute, rel=1e-9)


def test_every_region_gets_it_and_the_table_shows_it(tmp_path, capsys):
    array = np.zeros((8, 12, 14), dtype=np.uint8)
    array[2:5, 3:10, 1:12] = 2                     # edema: the whole tumour's extent
    array[3, 5:7, 4:8] = 4                         # enhancing inside it
    path = tmp_path / "seg.nii.gz"
    sitk.WriteImage(oblique(array), str(path))
    assert main(["measure", str(path)]) == 0
    table = capsys.readouterr().out
    assert "max 3D mm" in table
    whole_row = next(line for line in table.splitlines() if line.startswith("whole "))
    assert f"{box_diagonal(11, 7, 3):.1f}" in whole_row.split()
    report = measure_image(oblique(array))
    assert report.regions["core"][0].max_diameter_mm == pytest.approx(box_diagonal(4, 2, 1))
