"""DICOM studies as PACS and CD exports leave them: a DICOMDIR beside the series folders and
damaged image files among a series' slices."""

from __future__ import annotations

import numpy as np
from pydicom.fileset import FileSet
from test_dicom_geometry import write_slices

from omnet.data.dicom import study_case
from omnet.data.discovery import is_image_path

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
