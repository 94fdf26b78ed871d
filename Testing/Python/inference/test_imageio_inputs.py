"""Reading images: every kind of bad input is a one-line InputError; good 4D and DICOM work."""

from __future__ import annotations

import re

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.data.discovery import find_case_files
from omnet.data.imageio import load_case, read_dicom_files, read_four_d, read_image
from omnet.errors import InputError


def _write(array: np.ndarray, path, vector: bool = False) -> str:
    image = sitk.GetImageFromArray(array, isVector=vector)
    sitk.WriteImage(image, str(path))
    return str(path)


def _volume(shape=(6, 7, 8), value=3.0) -> np.ndarray:
    out = np.zeros(shape, dtype=np.float32)
    out[1:-1, 1:-1, 1:-1] = value
    return out


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message
    return message


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found") as exc:
        read_image(tmp_path / "nope_t1.nii.gz")
    _one_line(exc)


def test_corrupt_file(tmp_path):
    bad = tmp_path / "broken_flair.nii.gz"
    bad.write_bytes(b"\x1f\x8b this is not a nifti file at all" * 10)
    with pytest.raises(InputError, match=r"cannot read broken_flair\.nii\.gz") as exc:
        read_image(bad)
    _one_line(exc)


def test_a_file_that_is_not_an_image_names_the_complaint_once(tmp_path):
    bad = tmp_path / "notes_t1.nii.gz"
    bad.write_bytes(b"hello, not an image")
    with pytest.raises(InputError) as exc:
        read_image(bad)
    message = _one_line(exc)
    assert message == ("cannot read notes_t1.nii.gz: not a readable image "
                       "(Unable to determine ImageIO reader)")


def test_a_dicom_series_that_cannot_be_read_is_one_line(tmp_path):
    broken = tmp_path / "IM0001"
    broken.write_bytes(b"\0" * 128 + b"DICM" + b"not a dataset" * 4)
    with pytest.raises(InputError) as exc:
        read_dicom_files((str(broken),), "T1")
    message = _one_line(exc)
    assert message.startswith("cannot read the DICOM series of T1: ")
    assert str(tmp_path) not in message   # the file's path is not repeated


def test_an_empty_file(tmp_path):
    empty = tmp_path / "copied_t2.nii.gz"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"copied_t2\.nii\.gz: the file is empty") as exc:
        read_image(empty)
    _one_line(exc)


def test_two_dimensional_image(tmp_path):
    path = _write(np.ones((10, 12), dtype=np.float32), tmp_path / "slice_t2.nii.gz")
    with pytest.raises(InputError, match="2D image"):
        read_image(path)


def test_single_slice_volume(tmp_path):
    path = _write(np.ones((1, 10, 12), dtype=np.float32), tmp_path / "thin_t2.nrrd")
    with pytest.raises(InputError, match="single slice"):
        read_image(path)


def test_vector_image_where_a_volume_is_expected(tmp_path):
    path = _write(np.ones((5, 6, 7, 3), dtype=np.float32), tmp_path / "rgb_t1.mha", vector=True)
    with pytest.raises(InputError, match="3 components"):
        read_image(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values(tmp_path, bad):
    array = _volume()
    array[2, 2, 2] = bad
    path = _write(array, tmp_path / "nan_t1.mha")  # (ITK's NIfTI reader turns NaN into 0)
    with pytest.raises(InputError, match="NaN or infinite"):
        read_image(path)
    good = sitk.GetImageFromArray(_volume())
    with pytest.raises(InputError, match=r"^T2: contains NaN"):
        load_case({"flair": good, "t1": good, "t1ce": good, "t2": sitk.GetImageFromArray(array)})


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_non_finite_values_in_nifti_files(tmp_path, suffix, dtype, bad):
    """ITK's NIfTI reader hands NaN back as 0; the file itself is checked instead."""
    array = _volume().astype(dtype)
    array[2, 3, 4] = bad
    path = _write(array, tmp_path / f"t1{suffix}")
    with pytest.raises(InputError, match=r"^t1\.nii(\.gz)?: contains NaN or infinite") as exc:
        read_image(path)
    _one_line(exc)
    clean = _write(_volume().astype(dtype), tmp_path / f"clean{suffix}")
    assert sitk.GetArrayFromImage(read_image(clean)).max() == 3.0


def test_all_zero_volume(tmp_path):
    path = _write(np.zeros((6, 7, 8), dtype=np.int16), tmp_path / "empty_t1.nii.gz")
    with pytest.raises(InputError, match="empty"):
        read_image(path)


def test_four_d_file_in_msd_order(tmp_path):
    volumes = np.stack([_volume(value=v) for v in (1, 2, 3, 4)])
    path = _write(volumes, tmp_path / "BRATS_001.nii.gz")  # NIfTI 4D: (t, z, y, x) array
    split = read_four_d(path)
    assert list(split) == ["flair", "t1", "t1ce", "t2"]
    for value, image in zip((1, 2, 3, 4), split.values()):
        assert image.GetDimension() == 3
        assert sitk.GetArrayViewFromImage(image).max() == value
    case = load_case(find_case_files(tmp_path))
    np.testing.assert_array_equal(case.images[:, 3, 3, 3], [1, 2, 3, 4])


def test_four_d_file_with_the_wrong_number_of_volumes(tmp_path):
    path = _write(np.stack([_volume()] * 3), tmp_path / "BRATS_002.nii.gz")
    with pytest.raises(InputError, match="3 volumes"):
        read_four_d(path)
    three_d = _write(_volume(), tmp_path / "BRATS_003.nii.gz")
    with pytest.raises(InputError, match="expected 4 sequences") as refused:
        read_four_d(three_d)
    assert "--input-dir" not in str(refused.value)


def test_one_channel_file_given_as_a_case_points_to_its_folder(tmp_path):
    """``omnet segment imagesTr/X_0000.nii.gz``: one nnU-Net channel, not a 4D case; the
    folder of channel files is read with --input-dir."""
    images = tmp_path / "imagesTr"
    images.mkdir()
    channel = _write(_volume(), images / "BRATS_001_0000.nii.gz")
    with pytest.raises(InputError, match=r"one channel file of case BRATS_001 .*"
                       rf"--input-dir {re.escape(str(images))} --output-dir OUT"):
        read_four_d(channel)


def test_dicom_series_folder(tmp_path):
    array = (_volume((5, 8, 9), 100.0)).astype(np.int16)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.9, 0.9, 2.0))
    folder = tmp_path / "t1_dicom"
    folder.mkdir()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    series_uid = "1.2.826.0.1.3680043.2.1125.1"
    for k in range(array.shape[0]):
        piece = image[:, :, k]
        piece.SetMetaData("0020|000e", series_uid)
        piece.SetMetaData("0020|0032", "\\".join(map(str, image.TransformIndexToPhysicalPoint(
            (0, 0, k)))))
        piece.SetMetaData("0020|0013", str(k))
        piece.SetMetaData("0020|0037", "1\\0\\0\\0\\1\\0")
        piece.SetMetaData("0008|0060", "MR")
        writer.SetFileName(str(folder / f"slice{k:03d}.dcm"))
        writer.Execute(piece)
    out = read_image(folder)
    assert out.GetSize() == (9, 8, 5)
    np.testing.assert_allclose(out.GetSpacing(), (0.9, 0.9, 2.0), atol=1e-3)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(out), array)


def test_folder_without_dicom(tmp_path):
    (tmp_path / "notes").mkdir()
    with pytest.raises(InputError, match="no DICOM series"):
        read_image(tmp_path / "notes")


def test_dict_input_missing_a_sequence(tmp_path):
    path = _write(_volume(), tmp_path / "a_t1.nii.gz")
    with pytest.raises(InputError, match="no T2"):
        load_case({"flair": path, "t1": path, "t1ce": path})
