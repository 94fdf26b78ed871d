"""DICOM series given one by one: a series whose header names another patient than the
T1c's is said on the RESULT line and in the report, never with the patient's identity."""

from __future__ import annotations

import json

import pytest
import SimpleITK as sitk
from test_dicom_study import DESCRIPTIONS, write_series

from omnet.cli import main
from omnet.data.dicom_patient import DicomPatient, other_patient_series
from omnet.data.imageio import read_case
from omnet.inference.report import preparation_warnings
from omnet.inference.sources import case_input
from omnet.protocol import parse_line

#: Patient ID, Patient's Name, Patient's Birth Date.
PATIENT_TAGS = ("0010|0020", "0010|0010", "0010|0030")
WARNING = ("check that every series is this patient's: the DICOM header of FLAIR names "
           "another patient than the T1c's")


def _series(phantom_case, root, patients):
    """The phantom's four sequences as DICOM series folders ``root/SE<n>`` (names that
    name no sequence), each with the header identity ``patients[role]`` (Patient ID, name,
    birth date); role -> folder."""
    nifti = phantom_case(shape=(16, 24, 24), name="nifti")
    folders = {}
    for number, role in enumerate(DESCRIPTIONS, 1):
        folders[role] = root / f"SE{number}"
        write_series(sitk.ReadImage(str(nifti / f"nifti_{role}.nii.gz")), folders[role],
                     DESCRIPTIONS[role], number,
                     tags=tuple(zip(PATIENT_TAGS, patients.get(role, ("", "", "")))))
    return folders


def _segment(capsys, tmp_path, model, folders) -> tuple[dict, dict, str]:
    """``omnet segment --flair ... --t2 ... --report``: the RESULT line's data, the report,
    and everything printed."""
    report = tmp_path / "report.json"
    code = main(["segment", *[a for role, folder in folders.items()
                              for a in (f"--{role}", str(folder))],
                 "-o", str(tmp_path / "labels.nii.gz"), "--report", str(report), "--model",
                 str(model), "--device", "cpu", "--progress-format", "lines"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = next(parse_line(ln) for ln in captured.out.splitlines()
                  if ln.startswith("RESULT")).data
    return result, json.loads(report.read_text()), captured.out + captured.err


def _reference_step(report: dict) -> dict:
    return next(s for s in report["preparation"]["steps"] if s["step"] == "reference grid")


SMITH = ("MRN-4711", "SMITH^ANNA", "19600101")
JONES = ("MRN-0815", "JONES^BERT", "19721224")


def test_a_flair_of_another_patient_is_warned_about_without_naming_either(
        capsys, phantom_case, tiny_model_file, tmp_path):
    folders = _series(phantom_case, tmp_path / "series",
                      {"flair": JONES, "t1": SMITH, "t1ce": SMITH, "t2": SMITH})
    result, report, printed = _segment(capsys, tmp_path, tiny_model_file, folders)
    assert result["warnings"] == [WARNING]
    assert result["preparation"].startswith(WARNING)
    assert _reference_step(report)["dicom_patient_mismatch"] == ["flair"]
    assert ("FLAIR: its DICOM header names another patient than the T1c's (the Patient ID "
            "differs)") in printed
    written = printed + json.dumps(report) + json.dumps(result)
    assert [v for v in (*SMITH, *JONES, "SMITH", "JONES") if v in written] == []


@pytest.mark.parametrize("patients", [
    dict.fromkeys(DESCRIPTIONS, SMITH),
    {"flair": ("", "", ""), "t1": ("", "", ""), "t1ce": ("", "", ""), "t2": ("", "", "")},
    {"flair": ("ANONYMOUS", "Anonymous", ""), "t1": ("ANONYMOUS", "Anonymous", ""),
     "t1ce": ("ANONYMOUS", "Anonymous", ""), "t2": ("ANONYMOUS", "Anonymous", "")},
    {"flair": SMITH, "t1": SMITH, "t1ce": ("ANONYMOUS", "Anonymous", "19600101"), "t2": SMITH},
], ids=["one patient", "empty headers", "one placeholder", "an anonymised T1c"])
def test_series_of_one_patient_or_anonymised_are_compared_and_not_warned_about(
        capsys, phantom_case, tiny_model_file, tmp_path, patients):
    folders = _series(phantom_case, tmp_path / "series", patients)
    result, report, _ = _segment(capsys, tmp_path, tiny_model_file, folders)
    assert result["warnings"] == []
    assert _reference_step(report)["dicom_patient_mismatch"] == []


def test_nifti_beside_dicom_has_nothing_to_compare(phantom_case, tmp_path):
    folders = _series(phantom_case, tmp_path / "series", {"flair": JONES, "t1ce": SMITH})
    given = {role: tmp_path / "nifti" / f"nifti_{role}.nii.gz" for role in DESCRIPTIONS}
    assert read_case({**given, "flair": folders["flair"]}).dicom_patient_mismatch is None
    assert read_case({**given, "t1ce": folders["t1ce"]}).dicom_patient_mismatch is None


def test_a_series_given_beside_a_study_is_compared_with_its_t1c(phantom_case, tmp_path):
    folders = _series(phantom_case, tmp_path / "study", dict.fromkeys(DESCRIPTIONS, SMITH))
    other = _series(phantom_case, tmp_path / "other", dict.fromkeys(DESCRIPTIONS, JONES))
    folders["t2"].rename(tmp_path / "t2_of_the_study")  # the study lacks a T2
    case = case_input(tmp_path / "study", {"t2": other["t2"]})
    assert set(case.dicom_files) == {"flair", "t1", "t1ce"}
    assert read_case(case).dicom_patient_mismatch == ["t2"]
    assert read_case(case_input(tmp_path / "study", {"t2": tmp_path / "t2_of_the_study"})
                     ).dicom_patient_mismatch == []


def test_one_image_of_a_series_is_read_for_its_patient(phantom_case, tmp_path):
    folders = _series(phantom_case, tmp_path / "series",
                      {"flair": SMITH, "t1": SMITH, "t1ce": SMITH, "t2": JONES})
    images = {role: sorted(folder.iterdir())[2] for role, folder in folders.items()}
    assert read_case(images).dicom_patient_mismatch == ["t2"]


def _patient(patient_id="", name="", birth_date=""):
    return DicomPatient(patient_id, name, birth_date)


@pytest.mark.parametrize("flair, t1ce, expected", [
    (_patient("a1"), _patient("b2"), ["flair"]),
    (_patient("a1", "doe john", "19600101"), _patient("b2", "doe john", "19600101"), []),
    (_patient("a1", "doe john", "19600101"), _patient("b2", "roe jane", "19600101"),
     ["flair"]),
    (_patient("", "doe john", "19600101"), _patient("b2", "roe jane", "19700101"),
     ["flair"]),
    (_patient("", "doe john", ""), _patient("", "roe jane", "19700101"), []),
    (_patient(""), _patient("b2"), []),
], ids=["IDs differ", "two hospitals' IDs of one person", "IDs and names differ",
        "no ID, name and birth date differ", "no birth date: unknown", "one ID unknown"])
def test_patients_are_compared_by_id_else_name_and_birth_date(flair, t1ce, expected):
    assert other_patient_series({"flair": flair, "t1ce": t1ce}, "t1ce") == expected


@pytest.mark.parametrize("named, words", [
    (["flair", "t2"], "the DICOM headers of FLAIR and T2 name"),
    (["flair", "t1", "t2"], "the DICOM headers of FLAIR, T1 and T2 name"),
])
def test_several_series_of_another_patient_are_named_in_one_sentence(named, words):
    preparation = {"steps": [{"step": "reference grid", "dicom_patient_mismatch": named}]}
    assert preparation_warnings(preparation) == [
        f"check that every series is this patient's: {words} another patient than the T1c's"]
