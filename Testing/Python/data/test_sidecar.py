"""A dcm2niix output folder whose file names say nothing: the JSON sidecars name the series."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.data.discovery import find_case_files
from omnet.data.sidecar import read_sidecar
from omnet.errors import InputError

# typical dcm2niix sidecars (times in seconds, as BIDS writes them)
FLAIR = {"SeriesDescription": "AX T2 FLAIR", "RepetitionTime": 9, "EchoTime": 0.081,
         "InversionTime": 2.5, "ScanningSequence": "SE_IR"}
T1 = {"SeriesDescription": "AX T1 SE", "RepetitionTime": 0.5, "EchoTime": 0.01,
      "ScanningSequence": "SE"}
T1C = {"SeriesDescription": "AX T1 POST GAD", "RepetitionTime": 0.5, "EchoTime": 0.01,
       "ScanningSequence": "SE"}
T2 = {"SeriesDescription": "AX T2 TSE", "RepetitionTime": 4, "EchoTime": 0.1,
      "ScanningSequence": "SE"}
DWI = {"SeriesDescription": "DWI", "RepetitionTime": 6, "EchoTime": 0.09,
       "ScanningSequence": "EP"}


def _anonymised(meta: dict, **extra) -> dict:
    """The sidecar of a de-identified study: no description, no protocol name."""
    return {k: v for k, v in meta.items() if k != "SeriesDescription"} | extra


def _series(folder: Path, name: str, meta: dict | str | None, slices: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / f"{name}.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((slices, 5, 5), np.int16)), str(image))
    if meta is not None:
        (folder / f"{name}.json").write_text(meta if isinstance(meta, str) else json.dumps(meta))
    return image


def test_series_descriptions_name_the_four(tmp_path: Path) -> None:
    for number, meta in enumerate((DWI, FLAIR, T1, T1C, T2), start=2):
        _series(tmp_path, f"series_{number:04d}", meta)
    case = find_case_files(tmp_path)
    assert {role: path.name for role, path in case.sequences().items()} == {
        "flair": "series_0003.nii.gz", "t1": "series_0004.nii.gz",
        "t1ce": "series_0005.nii.gz", "t2": "series_0006.nii.gz"}


def test_anonymised_study_by_acquisition_parameters(tmp_path: Path) -> None:
    _series(tmp_path, "s1", _anonymised(DWI))
    _series(tmp_path, "s2", _anonymised(FLAIR))
    _series(tmp_path, "s3", _anonymised(T2))
    mprage = {"RepetitionTime": 2.3, "EchoTime": 0.00232, "InversionTime": 0.9,
              "ScanningSequence": "GR_IR", "ImageType": ["ORIGINAL", "PRIMARY", "M", "ND"]}
    _series(tmp_path, "s4", mprage)
    _series(tmp_path, "s5", mprage | {"ContrastBolusAgent": "GADOVIST"})
    case = find_case_files(tmp_path)
    assert (case.flair.name, case.t2.name, case.t1.name, case.t1ce.name) == (
        "s2.nii.gz", "s3.nii.gz", "s4.nii.gz", "s5.nii.gz")
    assert case.found_by == dict.fromkeys(("flair", "t1", "t1ce", "t2"),
                                          "JSON sidecar's acquisition parameters")


def test_of_two_series_naming_one_sequence_the_larger_is_taken(tmp_path: Path) -> None:
    for name, meta in (("a", FLAIR), ("b", T1), ("d", T2)):
        _series(tmp_path, name, meta)
    _series(tmp_path, "c_2d", T1C, slices=4)
    _series(tmp_path, "c_3d", T1C, slices=9)
    assert find_case_files(tmp_path).t1ce.name == "c_3d.nii.gz"


def test_file_names_come_before_sidecars(tmp_path: Path) -> None:
    _series(tmp_path, "case_flair", T2)  # a sidecar that contradicts the name is not read
    for name, meta in (("x1", T1), ("x2", T1C), ("x3", T2)):
        _series(tmp_path, name, meta)
    case = find_case_files(tmp_path)
    assert (case.flair.name, case.t2.name) == ("case_flair.nii.gz", "x3.nii.gz")
    assert "flair" not in case.found_by   # the file name named it
    assert case.found_by["t2"] == "JSON sidecar's series description"


def test_broken_sidecar_is_ignored_with_a_warning(tmp_path: Path, caplog) -> None:
    image = _series(tmp_path, "s1", "{not json")
    with caplog.at_level(logging.WARNING):
        assert read_sidecar(image) is None
    assert "not a readable JSON sidecar" in caplog.text
    for name, meta in (("s2", T1), ("s3", T1C), ("s4", T2)):
        _series(tmp_path, name, meta)
    with pytest.raises(InputError, match=r"no FLAIR found among s1\.nii\.gz"):
        find_case_files(tmp_path)


@pytest.mark.parametrize("text", ["[1, 2]", '"T1"', "null"])
def test_sidecar_that_is_not_an_object_is_ignored(tmp_path: Path, text: str) -> None:
    assert read_sidecar(_series(tmp_path, "s", text)) is None


def test_times_in_seconds_become_milliseconds(tmp_path: Path) -> None:
    meta = {"RepetitionTime": 9, "EchoTime": [0.081, 0.162], "InversionTime": "n/a",
            "ScanningSequence": "SE_IR", "ImageType": ["DERIVED", "ADC"],
            "ContrastBolusIngredient": "GADOLINIUM"}
    sidecar = read_sidecar(_series(tmp_path, "s", meta))
    a = sidecar.acquisition
    assert (a.repetition_ms, a.echo_ms, a.inversion_ms) == (9000.0, 81.0, None)
    assert a.scanning_sequence == ("SE", "IR") and a.image_type == ("DERIVED", "ADC")
    assert a.contrast_agent == "GADOLINIUM" and sidecar.measured_role is None


def test_without_sidecars_nothing_changes(tmp_path: Path) -> None:
    _series(tmp_path, "BRATS_001", None)
    assert find_case_files(tmp_path).four_d.name == "BRATS_001.nii.gz"
