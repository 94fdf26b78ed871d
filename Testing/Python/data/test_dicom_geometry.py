"""A DICOM volume is placed where its slices' headers say, or refused: a series with a missing
image, or an Enhanced MR file whose frames are out of order, is never stacked as uniform."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.data.dicom_geometry import frame_positions, misplaced_slice
from omnet.data.imageio import read_image
from omnet.errors import InputError

#: The generator's geometry: 0.8 x 0.9 mm pixels, 2.5 mm slices, an oblique plane.
SPACING = (0.8, 0.9, 2.5)
ROW, COLUMN = (0.8, 0.6, 0.0), (-0.6, 0.8, 0.0)
NORMAL = tuple(np.cross(ROW, COLUMN))
ORIGIN = (-40.0, 12.5, 7.0)


def _position(k: float) -> tuple[float, float, float]:
    return tuple(float(v) for v in np.add(ORIGIN, np.multiply(NORMAL, k * SPACING[2])))


def _pixels(frames: int) -> np.ndarray:
    return (np.arange(frames * 6 * 7).reshape(frames, 6, 7) % 97 + 1).astype(np.int16)


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


# -- Enhanced MR: one file, per-frame Plane Position Sequences (explicit VR little endian) --

def _element(group: int, element: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr in (b"UI", b"OB") else b" "
    head = struct.pack("<HH", group, element) + vr
    if vr in (b"OB", b"OW", b"SQ"):
        return head + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def _item(*elements: bytes) -> bytes:
    body = b"".join(elements)
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


def _numbers(*values: float) -> bytes:
    return "\\".join(f"{v:.6g}" for v in values).encode()


def _enhanced_mr(path: Path, pixels: np.ndarray, positions) -> None:
    """An Enhanced MR Image Storage file as a scanner writes it: orientation and spacing
    shared, each frame's position in its own functional group."""
    sop_class, us = b"1.2.840.10008.5.1.4.1.1.4.1", (lambda v: struct.pack("<H", v))
    meta = (_element(2, 1, b"OB", b"\x00\x01") + _element(2, 2, b"UI", sop_class)
            + _element(2, 3, b"UI", b"1.2.3.9") + _element(2, 0x10, b"UI",
                                                           b"1.2.840.10008.1.2.1"))
    frames, rows, columns = pixels.shape
    shared = _item(
        _element(0x20, 0x9116, b"SQ", _item(_element(0x20, 0x37, b"DS",
                                                      _numbers(*ROW, *COLUMN)))),
        _element(0x28, 0x9110, b"SQ", _item(
            _element(0x18, 0x50, b"DS", _numbers(SPACING[2])),
            _element(0x28, 0x30, b"DS", _numbers(SPACING[1], SPACING[0])))))
    per_frame = b"".join(_item(_element(0x20, 0x9113, b"SQ", _item(
        _element(0x20, 0x32, b"DS", _numbers(*p))))) for p in positions)
    body = b"".join([
        _element(8, 0x16, b"UI", sop_class), _element(8, 0x18, b"UI", b"1.2.3.9"),
        _element(8, 0x60, b"CS", b"MR"), _element(0x20, 0xD, b"UI", b"1.2.3"),
        _element(0x20, 0xE, b"UI", b"1.2.3.2"), _element(0x28, 2, b"US", us(1)),
        _element(0x28, 4, b"CS", b"MONOCHROME2"),
        _element(0x28, 8, b"IS", str(frames).encode()), _element(0x28, 0x10, b"US", us(rows)),
        _element(0x28, 0x11, b"US", us(columns)), _element(0x28, 0x100, b"US", us(16)),
        _element(0x28, 0x101, b"US", us(16)), _element(0x28, 0x102, b"US", us(15)),
        _element(0x28, 0x103, b"US", us(1)), _element(0x5200, 0x9229, b"SQ", shared),
        _element(0x5200, 0x9230, b"SQ", per_frame),
        _element(0x7FE0, 0x10, b"OW", pixels.astype("<i2").tobytes())])
    group_length = _element(2, 0, b"UL", struct.pack("<I", len(meta)))
    path.write_bytes(b"\x00" * 128 + b"DICM" + group_length + meta + body)


def test_an_enhanced_mr_file_is_read_as_one_3d_volume_in_place(tmp_path):
    """The series reader made it a 4D image (x, y, z, 1), refused as 'a 4D image'."""
    pixels = _pixels(6)
    (tmp_path / "series").mkdir()
    _enhanced_mr(tmp_path / "series" / "IM0001", pixels, [_position(k) for k in range(6)])
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
    _enhanced_mr(tmp_path / "t1c.dcm", _pixels(6), [_position(k) for k in slots])
    with pytest.raises(InputError) as error:
        read_image(tmp_path / "t1c.dcm")
    message = str(error.value)
    assert message.startswith("t1c.dcm: its slices are not evenly spaced in order: frame ")
    assert message.endswith("(convert it with dcm2niix (dcm2niix -z y -o OUT FOLDER) and "
                            "give the NIfTI file)")


def test_frame_positions_are_read_in_frame_order(tmp_path):
    positions = [_position(k) for k in (2, 0, 1)]
    _enhanced_mr(tmp_path / "f.dcm", _pixels(3), positions)
    found = frame_positions((tmp_path / "f.dcm").read_bytes())
    np.testing.assert_allclose(found, positions, atol=1e-4)


def test_misplaced_slice_names_the_farthest_slice():
    direction = np.column_stack([ROW, COLUMN, NORMAL]).ravel()
    in_place = [_position(k) for k in range(5)]
    assert misplaced_slice(ORIGIN, SPACING, direction, in_place) is None
    shifted = [*in_place[:3], _position(3.3), in_place[4]]  # 0.3 slices = 0.75 mm off
    wrong = misplaced_slice(ORIGIN, SPACING, direction, shifted)
    assert (wrong.index, wrong.count) == (3, 5)
    assert wrong.distance_mm == pytest.approx(0.75, abs=1e-6)
