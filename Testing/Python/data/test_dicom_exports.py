"""DICOM studies as PACS and CD exports leave them: a DICOMDIR beside the series folders and
damaged image files among a series' slices."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.fileset import FileSet
from test_dicom_geometry import write_slices

from omnet.data.dicom import study_case
from omnet.data.discovery import is_image_path
from omnet.errors import InputError

DESCRIPTIONS = ("AX FLAIR", "AX T1", "AX T1 POST GD", "AX T2")


def _cd(root, slices: int = 4) -> None:
    """A CD's export: four series of ``slices`` slices under PT000000/ST000000/SE00000n and
    the DICOMDIR that indexes them (pydicom's FileSet, as a CD writer makes it)."""
    staging = root.parent / f"{root.name}-staging"
    for index, description in enumerate(DESCRIPTIONS):
        pixels = np.full((slices, 6, 7), 100 + index, dtype=np.int16)
        pixels[:, 0, 0] = 0
        write_slices(staging / f"SE{index}", pixels, range(slices),
                     tags=(("0008|103e", description), ("0020|000e", f"1.2.3.{index + 1}"),
                           ("0020|0011", str(index + 1)), ("0020|0010", "1"),
                           ("0008|0020", "20240301"), ("0008|0030", "101500"),
                           ("0010|0020", "P1"), ("0010|0010", "DOE^JOHN")))
    files = FileSet()
    for path in sorted(staging.rglob("IM*")):
        files.add(str(path))
    files.write(str(root))


def test_a_cd_with_a_dicomdir_is_read_without_an_itk_warning(tmp_path, capfd):
    """The DICOMDIR, alone in the CD's top folder, made it a DICOM folder: GDCM was asked for
    its series and printed 'GDCMSeriesFileNames (0x...): No Series were found' in the log."""
    _cd(tmp_path / "cd")
    assert (tmp_path / "cd" / "DICOMDIR").is_file()
    case = study_case(tmp_path / "cd")
    assert sorted(len(files) for files in case.dicom_files.values()) == [4, 4, 4, 4]
    assert not is_image_path(tmp_path / "cd")
    assert "No Series" not in capfd.readouterr().err


@pytest.mark.parametrize("slice_index", [2, 5], ids=["in the middle", "the last"])
def test_a_slice_cut_short_is_named_not_taken_for_a_missing_image(tmp_path, slice_index):
    """GDCM's series scan drops a file whose pixel data an interrupted copy cut short: the
    T1c was refused for 'a missing image' (a slice in the middle) or read a slice short
    (the last), never naming the file."""
    _cd(tmp_path / "cd", slices=6)
    t1c = sorted((tmp_path / "cd").rglob("SE000002"))[0]
    damaged = sorted(t1c.iterdir())[slice_index]
    damaged.write_bytes(damaged.read_bytes()[:-20])
    with pytest.raises(InputError) as error:
        study_case(tmp_path / "cd")
    assert str(error.value) == (
        f"cd: T1c (contrast-enhanced T1) series 'AX T1 POST GD': {damaged.name} in SE000002 "
        "cannot be read (cut short or damaged?); export the series again, whole, or name "
        "another with --flair/--t1/--t1ce/--t2")


def test_a_damaged_file_of_a_series_not_taken_leaves_the_study_readable(tmp_path):
    """A cut-short image of a localizer beside the four sequences is no reason to refuse."""
    _cd(tmp_path / "cd")
    pixels = np.full((3, 6, 7), 9, dtype=np.int16)
    write_slices(tmp_path / "cd" / "LOC", pixels, range(3),
                 tags=(("0008|103e", "3-PLANE LOC"), ("0020|000e", "1.2.3.9")))
    damaged = tmp_path / "cd" / "LOC" / "IM0001"
    damaged.write_bytes(damaged.read_bytes()[:-20])
    case = study_case(tmp_path / "cd")
    assert sorted(len(files) for files in case.dicom_files.values()) == [4, 4, 4, 4]
