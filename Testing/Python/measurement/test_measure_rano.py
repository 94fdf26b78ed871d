"""Lesions and RANO diameters on generated shapes whose diameters are known.

Each shape is drawn in patient (RAS) coordinates: a voxel is inside when its centre is, on
grids of several orientations (axial, flipped, sagittal, coronal, oblique) and spacings.
A diameter measured edge to edge over the voxels may differ from the true one by up to one
in-plane voxel diagonal (the voxels of a digitised boundary reach up to one voxel beyond
it), which is the tolerance used.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.cli import main
from omnet.labels import BRATS2023
from omnet.measurement import measure_image
from omnet.measurement.grid import LPS_TO_RAS, Grid

IDENTITY = (1, 0, 0, 0, 1, 0, 0, 0, 1)


def rotation_about_l(degrees: float) -> tuple[float, ...]:
    """Columns = image axes in LPS: an axial grid tilted about the left-right axis."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return (1, 0, 0, 0, c, -s, 0, s, c)


# (name, direction (columns: image x, y, z in LPS), spacing (x, y, z))
GRIDS = {
    "axial 1 mm": (IDENTITY, (1.0, 1.0, 1.0)),
    "axial anisotropic": (IDENTITY, (0.5, 0.8, 3.0)),
    "axial RAS-flipped": ((-1, 0, 0, 0, -1, 0, 0, 0, 1), (0.9, 0.9, 2.0)),
    "sagittal": ((0, 0, -1, 1, 0, 0, 0, -1, 0), (0.9, 1.0, 2.0)),
    "coronal": ((1, 0, 0, 0, 0, -1, 0, 1, 0), (0.8, 0.8, 2.5)),
    "oblique 20 deg": (rotation_about_l(20.0), (1.0, 1.0, 1.5)),
}


def blank(direction, spacing, extent_mm=90.0, centre_ras=(10.0, -20.0, 30.0)) -> sitk.Image:
    """An empty label image of ``extent_mm`` around ``centre_ras``."""
    size = [math.ceil(extent_mm / s) for s in spacing]
    image = sitk.Image(size, sitk.sitkUInt8)
    image.SetSpacing(spacing)
    image.SetDirection(tuple(float(v) for v in direction))
    matrix = np.asarray(direction, dtype=float).reshape(3, 3)
    half = matrix @ (np.asarray(spacing) * (np.asarray(size) - 1) / 2)
    image.SetOrigin(tuple(np.asarray(centre_ras) * LPS_TO_RAS - half))
    return image


def ras_centres(image: sitk.Image) -> np.ndarray:
    """RAS mm of every voxel centre, shaped like the array (z, y, x, 3)."""
    shape = image.GetSize()[::-1]
    indices = np.indices(shape).reshape(3, -1).T
    return Grid.of(image).to_ras(indices).reshape(*shape, 3)


def draw(image: sitk.Image, inside: np.ndarray, value: int = 4) -> sitk.Image:
    array = sitk.GetArrayFromImage(image)
    array[inside] = value
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(image)
    return out


def ellipsoid(points, centre, a, b, c, angle_deg) -> np.ndarray:
    """Inside an ellipsoid: semi-axes a, b in the axial plane (a at angle_deg from R towards
    A), c along S."""
    d = points - np.asarray(centre)
    th = math.radians(angle_deg)
    u = d[..., 0] * math.cos(th) + d[..., 1] * math.sin(th)
    v = -d[..., 0] * math.sin(th) + d[..., 1] * math.cos(th)
    return (u / a) ** 2 + (v / b) ** 2 + (d[..., 2] / c) ** 2 <= 1.0


def in_plane_diagonal(name: str) -> float:
    direction, spacing = GRIDS[name]
    if name.startswith("oblique"):
        return math.sqrt(2) * min(spacing) + min(spacing)   # resampled: one more voxel
    matrix = np.abs(np.asarray(direction, dtype=float).reshape(3, 3))
    in_plane = [spacing[k] for k in range(3) if matrix[2, k] < 0.5]
    return math.hypot(*in_plane)


@pytest.mark.parametrize("name", list(GRIDS))
@pytest.mark.parametrize("angle", [0.0, 35.0, 100.0])
def test_ellipsoid_diameters_at_any_orientation_and_spacing(name, angle):
    direction, spacing = GRIDS[name]
    image = blank(direction, spacing)
    centre, a, b, c = (10.3, -19.6, 30.2), 16.3, 9.4, 14.0
    labelled = draw(image, ellipsoid(ras_centres(image), centre, a, b, c, angle))
    report = measure_image(labelled)
    (lesion,) = report.regions["enhancing"]
    rano = lesion.rano
    tol = in_plane_diagonal(name) + 0.02 * 2 * a      # + the slice missing the equator
    assert rano.long_mm == pytest.approx(2 * a, abs=tol)
    assert rano.perpendicular_mm == pytest.approx(2 * b, abs=tol)
    assert rano.product_mm2 == pytest.approx(rano.long_mm * rano.perpendicular_mm)
    assert rano.measurable and rano.resampled == name.startswith("oblique")
    long_axis = np.subtract(*rano.long_axis_ras_mm)
    perpendicular = np.subtract(*rano.perpendicular_axis_ras_mm)
    assert np.linalg.norm(long_axis) == pytest.approx(rano.long_mm)
    assert np.linalg.norm(perpendicular) == pytest.approx(rano.perpendicular_mm)
    assert long_axis[2] == perpendicular[2] == 0.0               # both on one axial slice
    assert abs(long_axis @ perpendicular) < 1e-6
    # The slice chosen is one whose true cross-section is within the tolerance of 2a.
    assert abs(rano.slice_s_mm - centre[2]) <= c * math.sqrt(1 - (1 - tol / (2 * a)) ** 2)
    angle_found = math.degrees(math.atan2(long_axis[1], long_axis[0])) % 180
    # Coarse voxels may tilt the longest chord from corner to corner: a loose check.
    tilt = math.degrees(math.atan2(4 * in_plane_diagonal(name), 2 * a))
    assert min(abs(angle_found - angle), 180 - abs(angle_found - angle)) < tilt
    assert lesion.volume_ml == pytest.approx(4 / 3 * math.pi * a * b * c / 1000, rel=0.06)
    assert np.allclose(lesion.centre_ras_mm, centre, atol=max(spacing) / 2)
    assert report.sum_of_products_mm2 == pytest.approx(rano.product_mm2)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 5.0), (0.45, 0.45, 1.0)])
def test_single_slice_ellipse(spacing):
    image = blank(IDENTITY, spacing, extent_mm=60.0, centre_ras=(0.0, 0.0, 0.0))
    inside = ellipsoid(ras_centres(image), (0.2, 0.1, 0.0), 12.6, 6.3, 1e3, 60.0)
    inside[np.arange(inside.shape[0]) != inside.shape[0] // 2] = False     # one slice
    (lesion,) = measure_image(draw(image, inside)).regions["enhancing"]
    tol = math.hypot(spacing[0], spacing[1])
    assert lesion.rano.slices == 1
    assert lesion.rano.long_mm == pytest.approx(25.2, abs=tol)
    assert lesion.rano.perpendicular_mm == pytest.approx(12.6, abs=tol)


def test_ring_enhancing_lesion_is_measured_across_its_cavity():
    image = blank(IDENTITY, (1.0, 1.0, 1.0), extent_mm=60.0, centre_ras=(0.0, 0.0, 0.0))
    points = ras_centres(image)
    radius = np.linalg.norm(points - np.array([0.3, -0.2, 0.1]), axis=-1)
    array = np.zeros(radius.shape, dtype=np.uint8)
    array[radius <= 15.4] = 3
    array[radius <= 10.2] = 1                                   # necrotic cavity
    labels = sitk.GetImageFromArray(array)
    labels.CopyInformation(image)
    report = measure_image(labels, BRATS2023)
    (lesion,) = report.regions["enhancing"]
    assert lesion.rano.long_mm == pytest.approx(30.8, abs=1.5)
    assert lesion.rano.perpendicular_mm == pytest.approx(30.8, abs=1.5)   # not the rim's 5 mm
    assert lesion.volume_ml == pytest.approx(4 / 3 * math.pi * (15.4**3 - 10.2**3) / 1000,
                                             rel=0.05)
    assert [len(report.regions[r]) for r in ("whole", "core")] == [1, 1]


def two_balls(gap_mm: float) -> sitk.Image:
    image = blank(IDENTITY, (1.0, 1.0, 1.0), extent_mm=70.0, centre_ras=(0.0, 0.0, 0.0))
    points = ras_centres(image)
    first = np.linalg.norm(points - np.array([-8.0, 0.0, 0.0]), axis=-1) <= 7.9
    second = np.linalg.norm(points - np.array([8.0 + gap_mm, 0.0, 0.0]), axis=-1) <= 7.9
    return draw(image, first | second)


def test_two_touching_lesions_are_one_lesion():
    (lesion,) = measure_image(two_balls(0.0)).regions["enhancing"]
    assert lesion.rano.long_mm == pytest.approx(31.8, abs=1.5)     # across both balls
    assert lesion.rano.perpendicular_mm == pytest.approx(15.8, abs=1.5)


def test_two_separate_lesions_are_measured_and_summed():
    report = measure_image(two_balls(2.0))
    lesions = report.regions["enhancing"]
    assert len(lesions) == 2 and [lesion.index for lesion in lesions] == [1, 2]
    for lesion in lesions:
        assert lesion.rano.long_mm == pytest.approx(15.8, abs=1.5)
    assert report.sum_of_products_mm2 == pytest.approx(
        sum(lesion.rano.product_mm2 for lesion in lesions))
    assert len(report.regions["whole"]) == 2


def test_at_most_five_targets_and_small_lesions_are_not_measurable():
    image = blank(IDENTITY, (1.0, 1.0, 1.0), extent_mm=120.0, centre_ras=(0.0, 0.0, 0.0))
    points = ras_centres(image)
    inside = np.zeros(points.shape[:3], dtype=bool)
    radii = [6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 3.0]          # the last: 6-7 mm, not measurable
    for k, r in enumerate(radii):
        centre = np.array([-45.0 + 15 * k, 25.0 * (k % 2), 0.0])
        inside |= np.linalg.norm(points - centre, axis=-1) <= r
    report = measure_image(draw(image, inside))
    lesions = report.regions["enhancing"]
    assert len(lesions) == 7
    assert not lesions[-1].rano.measurable and lesions[-1].rano.long_mm < 10
    targets = report.targets
    assert len(targets) == 5
    products = sorted((lesion.rano.product_mm2 for lesion in lesions[:-1]), reverse=True)
    assert report.sum_of_products_mm2 == pytest.approx(sum(products[:5]))
    data = report.to_dict()
    assert data["rano"]["measurable_lesions"] == 6
    assert sum(row["target"] for row in data["regions"]["enhancing"]) == 5


def test_empty_label_map():
    report = measure_image(blank(IDENTITY, (1.0, 1.0, 1.0), extent_mm=20.0))
    assert all(not lesions for lesions in report.regions.values())
    assert report.sum_of_products_mm2 == 0.0 and report.targets == []


def test_cli_measure_table_json_and_errors(tmp_path, capsys):
    image = blank(IDENTITY, (1.0, 1.0, 2.0), extent_mm=60.0, centre_ras=(0.0, 0.0, 0.0))
    inside = ellipsoid(ras_centres(image), (0.0, 0.0, 0.0), 12.2, 7.1, 12.0, 20.0)
    path = tmp_path / "seg.nii.gz"
    sitk.WriteImage(draw(image, inside, value=3), str(path))
    out = tmp_path / "lesions.json"
    assert main(["measure", str(path), "--labels", "brats2023", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "enhancing" in table and "RANO sum of products over 1 target" in table
    data = json.loads(out.read_text())
    (row,) = data["regions"]["enhancing"]
    assert row["target"] and row["rano"]["measurable"]
    assert row["rano"]["long_mm"] == pytest.approx(24.4, abs=1.5)
    assert data["labels"] == "brats2023" and "RANO" in data["definition"]
    assert main(["measure", str(path), "--labels", "brats2018"]) == 2     # 3 is not 2018
    assert main(["measure", str(tmp_path / "missing.nii.gz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("omnet: error:") for line in err)
