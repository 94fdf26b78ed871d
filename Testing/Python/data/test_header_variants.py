"""One volume stored as different writers store it reads as the same volume; a header whose
unit of length is wrong is refused in one line.

Measured on Brats18_CBICA_AQN_1 through ``omnet segment``: int16 with scl_slope/scl_inter,
float64, big-endian, X,Y,Z,1 and X,Y,Z,1,1, qform or sform only, RAS+ and z-first copies,
NRRD, MHA, .nii and .NII.GZ all gave the baseline's label map voxel for voxel.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.data.imageio import check_volume, read_four_d, read_image
from omnet.errors import InputError

#: Byte offsets in a NIfTI-1 header.
SCL_SLOPE, SCL_INTER, XYZT_UNITS, QFORM_CODE, SFORM_CODE = 112, 116, 123, 252, 254
METERS, MICRONS = 1, 3


def _volume() -> sitk.Image:
    """A 1 mm volume, oblique enough that a wrong geometry shows: LPS, origin off zero."""
    array = np.random.default_rng(0).integers(1, 1000, (12, 14, 16)).astype(np.int16)
    image = sitk.GetImageFromArray(array)
    image.SetOrigin((10.0, -120.0, 35.0))
    image.SetDirection((0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0))
    return image


def _patch(path: Path, offset: int, fmt: str, value) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(struct.pack("<" + fmt, value))


def _values_on(image: sitk.Image, grid: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.Resample(image, grid, sitk.Transform(),
                                                sitk.sitkNearestNeighbor, -1.0))


def _scaled(path: Path, image: sitk.Image) -> None:
    """Stored as int16 (value - 100) * 2 with scl_slope 0.5 and scl_inter 100."""
    stored = sitk.Cast((sitk.Cast(image, sitk.sitkFloat32) - 100.0) * 2.0, sitk.sitkInt16)
    sitk.WriteImage(stored, str(path))
    _patch(path, SCL_SLOPE, "f", 0.5)
    _patch(path, SCL_INTER, "f", 100.0)


def _singleton_time(path: Path, image: sitk.Image) -> None:
    sitk.WriteImage(sitk.JoinSeries([image]), str(path))  # X, Y, Z, 1


def _z_first(path: Path, image: sitk.Image) -> None:
    sitk.WriteImage(sitk.PermuteAxes(image, [2, 0, 1]), str(path))


def _ras(path: Path, image: sitk.Image) -> None:
    sitk.WriteImage(sitk.DICOMOrient(image, "RAS"), str(path))


def _plain(path: Path, image: sitk.Image) -> None:
    """Written under a lower-case name (ITK's writer wants one), then given ``path``'s."""
    lower = path.with_name(path.name.lower())
    sitk.WriteImage(image, str(lower))
    lower.rename(path)


@pytest.mark.parametrize("name, write", [
    ("scaled.nii", _scaled), ("singleton.nii", _singleton_time), ("zfirst.nii.gz", _z_first),
    ("ras.nii.gz", _ras), ("copy.NII.GZ", _plain), ("copy.nrrd", _plain),
    ("copy.mha", _plain)])
def test_lossless_re_encodings_read_as_the_same_volume(tmp_path: Path, name, write) -> None:
    original = _volume()
    write(tmp_path / name, original)
    image = read_image(tmp_path / name)
    assert image.GetDimension() == 3
    np.testing.assert_array_equal(_values_on(image, original),
                                  sitk.GetArrayFromImage(original).astype(np.float64))


def test_lengths_in_meters_with_meter_values_read_in_mm(tmp_path: Path) -> None:
    """A header in meters with meter values (0.001 per voxel) is a 1 mm volume."""
    original = _volume()
    in_meters = sitk.Image(original)
    in_meters.SetSpacing([s / 1000 for s in original.GetSpacing()])
    in_meters.SetOrigin([o / 1000 for o in original.GetOrigin()])
    path = tmp_path / "meters.nii"
    sitk.WriteImage(in_meters, str(path))
    _patch(path, XYZT_UNITS, "B", METERS)
    image = read_image(path)
    np.testing.assert_allclose(image.GetSpacing(), original.GetSpacing())
    np.testing.assert_allclose(image.GetOrigin(), original.GetOrigin(), atol=1e-4)


@pytest.mark.parametrize("code, unit, sizes", [(METERS, "meters", "1000 x 1000 x 1000"),
                                                (MICRONS, "microns", "0.001 x 0.001 x 0.001")])
def test_millimetre_values_labelled_another_unit_are_refused_in_one_line(
        tmp_path: Path, code, unit, sizes) -> None:
    """Millimetre values under a meters or microns label read 1000 times off: refused at
    reading, naming the unit; they failed later as a "2D slab" (microns) or with a memory
    traceback from the skull stripping (meters)."""
    path = tmp_path / "volume.nii"
    sitk.WriteImage(_volume(), str(path))
    _patch(path, XYZT_UNITS, "B", code)
    with pytest.raises(InputError) as caught:
        read_image(path)
    message = str(caught.value)
    assert "\n" not in message
    assert f"voxels of {sizes} mm" in message and f"in {unit}" in message


def test_a_four_d_file_in_another_unit_is_refused_naming_the_unit(tmp_path: Path) -> None:
    """The volumes split from a 4D file keep its header's unit for the message (the split
    lost it: "is the header's voxel size in another unit?" for a header saying meters)."""
    path = tmp_path / "case.nii"
    sitk.WriteImage(sitk.JoinSeries([_volume()] * 4), str(path))
    _patch(path, XYZT_UNITS, "B", METERS)
    with pytest.raises(InputError, match=r"^case\.nii \[FLAIR\]: voxels of 1000 x 1000 x 1000 "
                                         r"mm, .*: its header says its lengths are in meters"):
        read_four_d(path)


def test_a_voxel_size_no_mri_has_is_refused_without_a_unit_label() -> None:
    image = _volume()
    image.SetSpacing((1.0, 80.0, 80.0))
    with pytest.raises(InputError, match=r"voxels of 1 x 80 x 80 mm, .* another unit"):
        check_volume(image, "T2")


def test_a_localizers_wide_slice_gap_is_left_to_the_localizer_check() -> None:
    """A scout's few slices lie far apart (here 40 mm) on a normal in-plane grid: it is
    refused as a localizer, by name, not as a header in another unit."""
    from omnet.preparation.reference import check_series

    scout = sitk.Image(256, 256, 3, sitk.sitkInt16)
    scout.SetSpacing((0.5, 0.5, 40.0))
    scout[128, 128, 1] = 100
    check_volume(scout, "T1c")
    with pytest.raises(InputError, match="localizer"):
        check_series(scout, "T1c")


def test_a_nifti_without_orientation_is_read_with_a_warning(tmp_path: Path, caplog) -> None:
    """qform_code and sform_code 0: ITK reads it axis-aligned from origin 0, a geometry
    the file never had (the label map is written with it); the user is told, once."""
    path = tmp_path / "analyze_style.nii"
    sitk.WriteImage(_volume(), str(path))
    _patch(path, QFORM_CODE, "h", 0)
    _patch(path, SFORM_CODE, "h", 0)
    with caplog.at_level("WARNING", logger="omnet.data.imageio"):
        image = read_image(path)
    assert image.GetOrigin() == (0.0, 0.0, 0.0)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "gives no orientation" in warnings[0]


def test_a_nifti_with_orientation_is_read_without_a_warning(tmp_path: Path, caplog) -> None:
    path = tmp_path / "oriented.nii"
    sitk.WriteImage(_volume(), str(path))
    with caplog.at_level("WARNING", logger="omnet.data.imageio"):
        read_image(path)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
