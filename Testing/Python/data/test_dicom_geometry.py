"""A DICOM volume is placed where its slices' headers say, or refused: a series with a missing
image, or an Enhanced MR file whose frames are out of order, is never stacked as uniform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from dicom_files import (
    COLUMN,
    NORMAL,
    ORIGIN,
    ROW,
    SPACING,
    _pixels,
    _position,
    cut_short,
    write_enhanced_mr,
)
from pydicom.uid import DeflatedExplicitVRLittleEndian

from omnet.data.dicom_geometry import frame_positions, misplaced_slice
from omnet.data.imageio import read_image
from omnet.errors import InputError


def write_slices(folder: Path, pixels: np.ndarray, slots, tags=()) -> None:
    """One classic MR file per slice, slice ``i`` at slot ``slots[i]`` (in slice spacings);
    ``tags``: (key, value) header entries that replace the defaults."""
    folder.mkdir(parents=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    writer.SetImageIO("GDCMImageIO")
    for i, slot in enumerate(slots):
        plane = sitk.GetImageFromArray(pixels[i])
        plane.SetSpacing(SPACING[:2])
        for tag, value in (("0008|0060", "MR"), ("0008|103e", "AX T2"),
                           ("0020|000d", "1.2.3"), ("0020|000e", "1.2.3.1"),
                           ("0020|0037", "\\".join(map(str, (*ROW, *COLUMN)))),
                           ("0020|0032", "\\".join(map(str, _position(slot)))),
                           ("0020|0013", str(i + 1)), ("0018|0050", str(SPACING[2])),
                           *tags):
            plane.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"IM{i:04d}"))
        writer.Execute(plane)


def test_a_whole_series_is_read_where_its_headers_put_it(tmp_path):
    write_slices(tmp_path / "series", _pixels(8), range(8))
    image = read_image(tmp_path / "series")
    np.testing.assert_allclose(image.GetOrigin(), ORIGIN, atol=1e-4)
    np.testing.assert_allclose(image.GetSpacing(), SPACING, atol=1e-4)
    np.testing.assert_allclose(image.GetDirection(), np.column_stack([ROW, COLUMN, NORMAL])
                               .ravel(), atol=1e-5)


def test_a_series_with_a_missing_image_is_refused_not_stacked_as_uniform(tmp_path):
    """Slots 0-4 and 6-9: GDCM stacks the nine images (22.5 mm from first to last) 22.5 / 8
    = 2.8125 mm apart; image 5 (slot 4, 10 mm in) it puts at 4 * 2.8125 = 11.25 mm, 1.25 mm
    off, the farthest."""
    write_slices(tmp_path / "series", _pixels(9), [0, 1, 2, 3, 4, 6, 7, 8, 9])
    with pytest.raises(InputError) as error:
        read_image(tmp_path / "series")
    message = str(error.value)
    assert message.startswith("series: its slices are not evenly spaced in order: image 5 "
                              "of 9 lies 1.25 mm from where a uniform stack of 2.81 mm")
    assert "\n" not in message


# -- Enhanced MR: one file, per-frame Plane Position Sequences (dicom_files.write_enhanced_mr) --

def test_an_enhanced_mr_file_is_read_as_one_3d_volume_in_place(tmp_path):
    """The series reader made it a 4D image (x, y, z, 1), refused as 'a 4D image'."""
    pixels = _pixels(6)
    (tmp_path / "series").mkdir()
    write_enhanced_mr(tmp_path / "series" / "IM0001", pixels, [_position(k) for k in range(6)])
    for given in (tmp_path / "series", tmp_path / "series" / "IM0001"):
        image = read_image(given)
        assert image.GetSize() == (7, 6, 6)
        np.testing.assert_allclose(image.GetOrigin(), ORIGIN, atol=1e-4)
        np.testing.assert_allclose(image.GetSpacing(), SPACING, atol=1e-4)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(image), pixels)


@pytest.mark.parametrize("slots", [[0, 1, 2, 4, 5, 6], [3, 0, 5, 1, 4, 2]],
                         ids=["a missing frame", "frames out of order"])
def test_an_enhanced_mr_file_gdcm_cannot_place_is_refused(tmp_path, slots):
    """GDCM stacks such frames in file order 1 mm apart from the first frame's position."""
    write_enhanced_mr(tmp_path / "t1c.dcm", _pixels(6), [_position(k) for k in slots])
    with pytest.raises(InputError) as error:
        read_image(tmp_path / "t1c.dcm")
    message = str(error.value)
    assert message.startswith("t1c.dcm: its slices are not evenly spaced in order: frame ")
    assert message.endswith("(convert it with dcm2niix (dcm2niix -z y -o OUT FOLDER) and "
                            "give the NIfTI file)")


def test_frame_positions_are_read_in_frame_order(tmp_path):
    positions = [_position(k) for k in (2, 0, 1)]
    write_enhanced_mr(tmp_path / "f.dcm", _pixels(3), positions)
    found = frame_positions(tmp_path / "f.dcm")
    np.testing.assert_allclose(found, positions, atol=1e-4)


def test_a_deflated_enhanced_mr_file_is_read_in_place(tmp_path):
    """Deflated Explicit VR Little Endian: the frame positions are compressed with the rest of
    the data set, where no scan of the file's bytes finds them."""
    pixels, positions = _pixels(6), [_position(k) for k in range(6)]
    write_enhanced_mr(tmp_path / "t1c.dcm", pixels, positions,
                      syntax=DeflatedExplicitVRLittleEndian)
    assert b"\x20\x00\x13\x91" not in (tmp_path / "t1c.dcm").read_bytes()
    np.testing.assert_allclose(frame_positions(tmp_path / "t1c.dcm"), positions, atol=1e-4)
    image = read_image(tmp_path / "t1c.dcm")
    np.testing.assert_allclose(image.GetOrigin(), ORIGIN, atol=1e-4)
    np.testing.assert_allclose(image.GetSpacing(), SPACING, atol=1e-4)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), pixels)


def test_a_frame_without_its_own_position_takes_the_shared_one(tmp_path):
    write_enhanced_mr(tmp_path / "f.dcm", _pixels(3), [None] * 3, shared_position=ORIGIN)
    np.testing.assert_allclose(frame_positions(tmp_path / "f.dcm"), [ORIGIN] * 3, atol=1e-4)


def test_an_enhanced_mr_file_with_a_frame_without_a_position_is_refused(tmp_path):
    write_enhanced_mr(tmp_path / "f.dcm", _pixels(3), [_position(0), None, _position(2)])
    np.testing.assert_allclose(frame_positions(tmp_path / "f.dcm"),
                               [_position(0), _position(2)], atol=1e-4)
    with pytest.raises(InputError) as error:
        read_image(tmp_path / "f.dcm")
    assert str(error.value).startswith("f.dcm: cannot tell where the 3 frames of this "
                                       "multi-frame DICOM file lie (found 2 frame positions)")


def test_a_file_pydicom_cannot_read_has_no_frame_positions(tmp_path):
    (tmp_path / "g.dcm").write_bytes(b"")
    assert frame_positions(tmp_path / "g.dcm") == []


def test_a_file_cut_short_in_its_header_has_no_frame_positions(tmp_path):
    """pydicom raises struct.error, NotImplementedError (an unknown VR) or its own
    BytesLengthException on a damaged header: none positions, not a traceback."""
    write_enhanced_mr(tmp_path / "f.dcm", _pixels(3), [_position(k) for k in range(3)])
    cut_short(tmp_path / "f.dcm")
    assert frame_positions(tmp_path / "f.dcm") == []


def test_misplaced_slice_names_the_farthest_slice():
    direction = np.column_stack([ROW, COLUMN, NORMAL]).ravel()
    in_place = [_position(k) for k in range(5)]
    assert misplaced_slice(ORIGIN, SPACING, direction, in_place) is None
    shifted = [*in_place[:3], _position(3.3), in_place[4]]  # 0.3 slices = 0.75 mm off
    wrong = misplaced_slice(ORIGIN, SPACING, direction, shifted)
    assert (wrong.index, wrong.count) == (3, 5)
    assert wrong.distance_mm == pytest.approx(0.75, abs=1e-6)
