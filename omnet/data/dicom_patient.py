"""Whose scan is each DICOM series? Series given one by one (``--flair DIR --t1ce DIR ...``,
or a study folder with one role given beside it) are compared with the T1c's patient by
their headers, so that another patient's series is not segmented unnoticed.

A warning, not a refusal: one patient may carry two hospitals' IDs (a prior outside study
registered under its own ID). Identities are compared, never logged or reported: they are
protected health information.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from omnet.data.dicom import header_tags
from omnet.data.discovery import is_dicom_file, is_dicomdir
from omnet.data.naming import SHORT_TITLES

__all__ = ["DicomPatient", "other_patient_series", "patient_of", "series_header_file"]

log = logging.getLogger(__name__)

#: Patient ID, Patient's Name, Patient's Birth Date.
PATIENT_ID, PATIENT_NAME, BIRTH_DATE = "0010|0020", "0010|0010", "0010|0030"
#: What anonymisers write where they remove an identity: known to be unknown.
PLACEHOLDERS = frozenset({"anonymous", "anonymized", "anonymised", "anon", "unknown", "none",
                          "n/a", "na", "removed"})


@dataclass(frozen=True)
class DicomPatient:
    """Whose scan a DICOM header says it is, normalised for comparing ("" where unknown)."""

    patient_id: str = ""
    name: str = ""
    birth_date: str = ""


def _known(value: str) -> str:
    """``value`` case-folded, or "" for an anonymiser's placeholder or a blank."""
    value = value.strip().casefold()
    return "" if value in PLACEHOLDERS or not value.strip("0^ -.") else value


def _person_name(value: str) -> str:
    """A DICOM person name (``Doe^John^^^``; ``=`` starts its ideographic forms) as its
    alphabetic components, so that trailing carets and spacing do not tell two apart."""
    alphabetic = value.split("=")[0]
    return _known(" ".join(part.strip() for part in alphabetic.split("^") if part.strip()))


def patient_of(file: str) -> DicomPatient:
    """The patient a DICOM file's header names (all "" for an unreadable header)."""
    patient_id, name, birth_date = header_tags(file, PATIENT_ID, PATIENT_NAME, BIRTH_DATE)
    return DicomPatient(_known(patient_id), _person_name(name), _known(birth_date))


def series_header_file(source: object) -> str | None:
    """A file of the DICOM series ``source`` names (a series folder or one of its images);
    None for anything else (a NIfTI file, an image in memory)."""
    if not isinstance(source, (str, os.PathLike)):
        return None
    path = Path(source)
    if path.is_dir():
        return next((str(f) for f in sorted(path.iterdir())
                     if not is_dicomdir(f) and f.is_file() and is_dicom_file(f)), None)
    named_dicom = path.name.lower().endswith((".dcm", ".ima"))
    return str(path) if path.is_file() and (named_dicom or is_dicom_file(path)) else None


def _differs(series: DicomPatient, reference: DicomPatient) -> str | None:
    """What tells the two apart ("Patient ID", "name and birth date"), or None where they
    agree or too little is known. Differing IDs with the same name and birth date are one
    patient under two hospitals' IDs."""
    person = (series.name, series.birth_date)
    same_person_known = all(person) and all((reference.name, reference.birth_date))
    if series.patient_id and reference.patient_id:
        if series.patient_id == reference.patient_id:
            return None
        if same_person_known and person == (reference.name, reference.birth_date):
            return None
        return "Patient ID"
    if same_person_known and person != (reference.name, reference.birth_date):
        return "name and birth date"
    return None


def other_patient_series(patients: Mapping[str, DicomPatient],
                         reference_role: str) -> list[str] | None:
    """The series whose header names another patient than the reference's, each logged as
    a warning (without the identities); None where there is nothing to compare (the
    reference, or every other series, is no DICOM)."""
    reference = patients.get(reference_role)
    others = {role: p for role, p in patients.items() if role != reference_role}
    if reference is None or not others:
        return None
    mismatch = []
    for role, patient in others.items():
        field = _differs(patient, reference)
        if field is None:
            continue
        mismatch.append(role)
        log.warning("%s: its DICOM header names another patient than the %s's (the %s "
                    "differs); check that it is this patient's series",
                    SHORT_TITLES.get(role, role), SHORT_TITLES.get(reference_role,
                                                                   reference_role), field)
    return mismatch
