"""A DICOM folder with several studies of one patient (today's exam and a prior one on the
same CD): the newest study that holds the four sequences is segmented, and the log says so."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import SimpleITK as sitk
from test_dicom_geometry import write_slices

from omnet.data.dicom import study_case
from omnet.data.imageio import read_case
from omnet.errors import InputError

DESCRIPTIONS = {"flair": "AX FLAIR", "t1": "T1 MPRAGE", "t1ce": "T1 MPRAGE POST GAD",
                "t2": "AX T2"}


def _study(root, uid: str, date: str, value: int) -> None:
    """Four series of four slices, every voxel ``value`` + its series' index."""
    for index, description in enumerate(DESCRIPTIONS.values()):
        pixels = np.full((4, 6, 7), value + index, dtype=np.int16)
        pixels[:, 0, 0] = 0  # not a constant volume
        write_slices(root / f"ST{uid[-1]}" / f"SE{index}", pixels, range(4),
                     tags=(("0008|103e", description), ("0020|000d", uid),
                           ("0020|000e", f"{uid}.{index}"), ("0008|0020", date),
                           ("0008|0030", "101500")))


def test_the_newest_of_two_studies_is_taken_and_said(tmp_path, caplog):
    """Folder order puts the 2023 study first; before, it was taken silently."""
    _study(tmp_path / "cd", "1.2.3.1", "20230301", 100)
    _study(tmp_path / "cd", "1.2.3.2", "20240115", 200)
    with caplog.at_level(logging.WARNING, logger="omnet.data.dicom"):
        case = study_case(tmp_path / "cd")
    images = read_case(case).images
    assert {role: int(sitk.GetArrayViewFromImage(images[role]).max())
            for role in DESCRIPTIONS} == {"flair": 200, "t1": 201, "t1ce": 202, "t2": 203}
    assert "2 DICOM studies (2023-03-01 10:15, 2024-01-15 10:15); segmenting the newest " \
           "with all four sequences, of 2024-01-15 10:15" in caplog.text
    assert "of the study of 2024-01-15 10:15" in case.found_by["t1ce"]


def test_two_complete_studies_of_one_date_are_refused(tmp_path):
    _study(tmp_path / "cd", "1.2.3.1", "20240115", 100)
    _study(tmp_path / "cd", "1.2.3.2", "20240115", 200)
    with pytest.raises(InputError) as error:
        study_case(tmp_path / "cd")
    assert str(error.value) == ("cd: 2 DICOM studies hold all four sequences (2024-01-15 "
                                "10:15, 2024-01-15 10:15) and their dates do not tell which "
                                "is newer; give one study's folder")


def test_of_a_sequence_scanned_twice_the_rescan_is_taken(tmp_path):
    """The first T1c (series 2, first in folder order) is the motion-spoilt one; the re-scan
    (series 7, same size) was taken only when it came first in folder order."""
    _study(tmp_path / "cd", "1.2.3.1", "20240115", 100)
    for folder, number, value in (("A_first", 2, 50), ("Z_rescan", 7, 300)):
        pixels = np.full((4, 6, 7), value, dtype=np.int16)
        pixels[:, 0, 0] = 0
        write_slices(tmp_path / "cd" / folder, pixels, range(4),
                     tags=(("0008|103e", "T1 MPRAGE POST GAD"), ("0020|000d", "1.2.3.1"),
                           ("0020|000e", f"1.2.3.1.9{number}"), ("0020|0011", str(number))))
    case = study_case(tmp_path / "cd")
    assert case.t1ce == tmp_path / "cd" / "Z_rescan"
    assert int(sitk.GetArrayViewFromImage(read_case(case).images["t1ce"]).max()) == 300
