"""A DICOM study as a PACS or a CD exports it: the four sequences found by the series
descriptions the scanner wrote ("AX FLAIR", "AX T1 POST GD", ...), else by the protocol
names, at any folder depth and whatever the folders are called (``SE000001``), several
series to a folder or one each. A sequence no series names (an anonymised study keeps
neither name) is looked for among the unnamed series by its acquisition parameters
(:mod:`omnet.data.acquisition`), those of an Enhanced MR file from its functional groups
(:mod:`omnet.data.enhanced_mr`).

Of several series that name one sequence, the one with the most slices is taken (a 3D
acquisition before a 2D one); the choice is logged and kept in the case.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import SimpleITK as sitk

from omnet.data.acquisition import (
    ACQUISITION_TAGS,
    Acquisition,
    choose_series,
    describe_acquisition,
)
from omnet.data.dicom_damaged import UNKNOWN_SERIES, left_out_files
from omnet.data.dicom_geometry import frame_positions, misplaced_slice, parse_position
from omnet.data.discovery import CaseFiles, folder_name, is_image_path, is_system_entry
from omnet.data.enhanced_mr import ENHANCED_CLASSES, SOP_CLASS, file_acquisition
from omnet.data.naming import ROLE_TITLES, SEQUENCE_ROLES, described_role
from omnet.errors import InputError

__all__ = ["DicomSeries", "find_series", "header_tags", "read_series", "study_case"]

log = logging.getLogger(__name__)

#: Series description, study and series instance UIDs, protocol name.
DESCRIPTION, STUDY, SERIES, PROTOCOL = "0008|103e", "0020|000d", "0020|000e", "0018|1030"
#: Study date and time.
STUDY_DATE, STUDY_TIME, SERIES_NUMBER = "0008|0020", "0008|0030", "0020|0011"
#: Image Position (Patient), Number of Frames (an Enhanced MR file, :data:`ENHANCED_CLASSES`,
#: has its positions per frame).
POSITION, NUMBER_OF_FRAMES = "0020|0032", "0028|0008"


@dataclass(frozen=True)
class DicomSeries:
    """One series: where its files are and what the scanner called it."""

    folder: Path
    description: str
    study: str
    files: tuple[str, ...]
    protocol: str = ""
    acquisition: Acquisition = field(default_factory=Acquisition)
    #: The study's date and time as the header gives them (YYYYMMDDHHMMSS; "" absent).
    study_time: str = ""
    #: The scanner's series number: of two series alike, the later is the re-scan.
    number: int = 0
    #: Its Series Instance UID.
    uid: str = ""
    #: Files in its folder that GDCM could not read, of this series or of none known.
    damaged: tuple[str, ...] = ()

    @property
    def named_role(self) -> str | None:
        """The sequence its description, else its protocol name, names (None: neither, or
        a description that names another series: :func:`omnet.data.naming.described_role`)."""
        return described_role(self.description, self.protocol)


def header_tags(file: str, *keys: str) -> tuple[str, ...]:
    """The values of ``keys`` ("gggg|eeee") in one DICOM file's header, stripped; "" where a
    key is absent or the header unreadable."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(file)
    reader.LoadPrivateTagsOff()
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return tuple("" for _ in keys)
    return tuple(reader.GetMetaData(key).strip() if reader.HasMetaDataKey(key) else ""
                 for key in keys)


def read_series(files, name: str = "") -> sitk.Image:
    """One DICOM series from its files (in the order GDCM sorted them), or one multi-frame
    file, refused with a one-line :class:`InputError` (naming ``name``) where a slice is not
    where its header puts it (:mod:`omnet.data.dicom_geometry`)."""
    files = list(files)
    if len(files) == 1:  # the series reader would make a multi-frame file 4D
        return _checked_frames(files[0], name or Path(files[0]).name)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    reader.LoadPrivateTagsOff()
    warnings = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)  # GDCM's gap warning: refused below
    try:
        image = reader.Execute()
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(warnings)
    positions = [parse_position(reader.GetMetaData(k, POSITION))
                 if reader.HasMetaDataKey(k, POSITION) else None for k in range(len(files))]
    _refuse_misplaced(image, positions, name or Path(files[0]).parent.name, SLICE_GAP_ADVICE,
                      unit="image")
    return image


#: What to do about a series with an image missing or damaged.
RE_EXPORT_ADVICE = "export the series again, whole, or name another with --flair/--t1/--t1ce/--t2"
SLICE_GAP_ADVICE = f"a missing image, or slices of several stacks in one series? {RE_EXPORT_ADVICE}"
#: What to do about a multi-frame file OMNet cannot place.
MULTI_FRAME_ADVICE = ("convert it with dcm2niix (dcm2niix -z y -o OUT FOLDER) and give the "
                      "NIfTI file")


def _checked_frames(file: str, name: str) -> sitk.Image:
    """One DICOM file; a multi-frame one (Enhanced MR) checked frame by frame."""
    image = sitk.ReadImage(file)
    frames, sop_class = header_tags(file, NUMBER_OF_FRAMES, SOP_CLASS)
    if not frames.isdigit() or int(frames) < 2 or image.GetDimension() != 3:
        return image  # one slice: check_volume refuses it
    positions = frame_positions(file)
    if not positions and sop_class not in ENHANCED_CLASSES:
        return image  # a classic multi-frame file: one position and a spacing, as GDCM read
    if len(positions) != image.GetDepth():
        raise InputError(f"{name}: cannot tell where the {image.GetDepth()} frames of this "
                         f"multi-frame DICOM file lie (found {len(positions)} frame "
                         f"positions); {MULTI_FRAME_ADVICE}")
    _refuse_misplaced(image, positions, name, MULTI_FRAME_ADVICE, unit="frame")
    return image


def _refuse_misplaced(image: sitk.Image, positions, name: str, advice: str, unit: str) -> None:
    """One-line refusal of a volume whose slices are not where their headers say (or whose
    headers do not say)."""
    if image.GetDimension() != 3 or image.GetDepth() != len(positions):
        return  # not one 3D stack of these slices: check_volume refuses it
    if any(p is None for p in positions):
        raise InputError(f"{name}: {sum(p is None for p in positions)} of its "
                         f"{len(positions)} DICOM {unit}s do not say where they lie (no Image "
                         "Position); cannot place the volume")
    wrong = misplaced_slice(image.GetOrigin(), image.GetSpacing(), image.GetDirection(),
                            positions)
    if wrong is not None:
        raise InputError(f"{name}: its slices are not evenly spaced in order: {unit} "
                         f"{wrong.index + 1} of {wrong.count} lies {wrong.distance_mm:.2f} mm "
                         f"from where a uniform stack of {wrong.spacing_mm:.2f} mm slices "
                         f"puts it ({advice})")


def find_series(root: Path) -> list[DicomSeries]:
    """Every DICOM series below ``root``, in folder order."""
    reader = sitk.ImageSeriesReader()
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not is_system_entry(d))
        if not files or not is_image_path(Path(folder)):  # no DICOM file here (ITK would warn)
            continue
        here = [_series(Path(folder), names) for uid in reader.GetGDCMSeriesIDs(folder)
                if (names := tuple(reader.GetGDCMSeriesFileNames(folder, uid)))]
        damaged = left_out_files(Path(folder), files, {f for s in here for f in s.files})
        found += [replace(s, damaged=(*damaged.get(s.uid, ()), *damaged.get(UNKNOWN_SERIES, ())))
                  for s in here]
    return found


def _series(folder: Path, names: tuple[str, ...]) -> DicomSeries:
    """One series from its first file's header; an Enhanced MR file's acquisition parameters
    from its functional groups, the top-level header's only where they give none."""
    description, study, protocol, date, time, number, uid, sop_class, *acquisition = header_tags(
        names[0], DESCRIPTION, STUDY, PROTOCOL, STUDY_DATE, STUDY_TIME, SERIES_NUMBER, SERIES,
        SOP_CLASS, *ACQUISITION_TAGS)
    parameters = file_acquisition(names[0], sop_class, Acquisition.from_tags(tuple(acquisition)))
    return DicomSeries(folder, description, study, names, protocol, parameters,
                       date + time.split(".")[0] if date else "",
                       int(number) if number.isdigit() else 0, uid)


def _pick(series: list[DicomSeries], roles) -> dict[str, tuple[DicomSeries, bool]]:
    """Role -> (series, chosen by its acquisition parameters), by :func:`choose_series`; of
    two series of one size the later (a re-scan), not the first in folder order."""
    return choose_series(series, roles, named_role=lambda s: s.named_role,
                         acquisition=lambda s: s.acquisition,
                         size=lambda s: (len(s.files), s.number))


def _study_date(study_time: str) -> str:
    """YYYYMMDDHHMMSS as 2024-01-15 10:15, for messages ("undated" where absent)."""
    if len(study_time) < 8:
        return "undated"
    date = f"{study_time[:4]}-{study_time[4:6]}-{study_time[6:8]}"
    return date + (f" {study_time[8:10]}:{study_time[10:12]}" if len(study_time) >= 12 else "")


def newest_complete_study(series: list[DicomSeries], roles, name: str) -> list[DicomSeries]:
    """The series of the newest study that holds every one of ``roles`` where a folder holds
    several (a CD with today's and a prior exam), said in the log; all series otherwise.
    Two complete studies that their dates do not order are refused in one line."""
    studies: dict[str, list[DicomSeries]] = {}
    for s in series:
        studies.setdefault(s.study, []).append(s)
    complete = sorted((members for members in studies.values()
                       if len(_pick(members, roles)) == len(roles)),
                      key=lambda members: members[0].study_time, reverse=True)
    if len(studies) < 2 or not complete:
        return series
    dates = ", ".join(_study_date(members[0].study_time) for members in complete)
    if len(complete) > 1 and complete[0][0].study_time in ("", complete[1][0].study_time):
        raise InputError(f"{name}: {len(complete)} DICOM studies hold all four sequences "
                         f"({dates}) and their dates do not tell which is newer; give one "
                         "study's folder")
    log.warning("%s: %d DICOM studies (%s); segmenting the newest with all four sequences, "
                "of %s", name, len(studies), ", ".join(_study_date(m[0].study_time)
                                                      for m in studies.values()),
                _study_date(complete[0][0].study_time))
    return complete[0]


def _damaged_text(series: DicomSeries) -> str:
    """'IM0070.dcm in AX_T1_POST_GD' (and how many more) for a refusal."""
    first = Path(series.damaged[0])
    more = len(series.damaged) - 1
    return f"{first.name} in {first.parent.name}" + (f" and {more} more" if more else "")


def study_case(root: Path, given: Mapping[str, Path] | None = None) -> CaseFiles | None:
    """The four sequences of the DICOM study below ``root`` (None when there is no DICOM
    there), but for the roles ``given`` fixes (role -> path); one-line errors for a missing
    sequence or several studies."""
    series = find_series(root)
    if not series:
        return None
    given = dict(given or {})
    name = folder_name(root)
    roles = [r for r in SEQUENCE_ROLES if r not in given]
    series = newest_complete_study(series, roles, name)
    picked = _pick(series, roles)
    chosen = {role: s for role, (s, _) in picked.items()}
    seen = ", ".join(f"'{s.description or '(no description)'}' ({len(s.files)} images)"
                     for s in series[:12]) + (f" and {len(series) - 12} more"
                                              if len(series) > 12 else "")
    missing = [ROLE_TITLES[r] for r in SEQUENCE_ROLES if r not in chosen and r not in given]
    if missing:
        raise InputError(f"{name}: no {', no '.join(missing)} among its DICOM series "
                         f"{seen}; name it with --flair/--t1/--t1ce/--t2 (a series folder or "
                         "one of its images) beside the study")
    for role, s in chosen.items():
        if s.damaged:
            raise InputError(f"{name}: {ROLE_TITLES[role]} series '{s.description}': "
                             f"{_damaged_text(s)} cannot be read (cut short or damaged?); "
                             f"{RE_EXPORT_ADVICE}")
    studies = {s.study for s in chosen.values()}
    if len(studies) > 1:
        raise InputError(f"{name}: the sequences come from {len(studies)} DICOM studies; "
                         "give one patient's study at a time")
    found_by = {role: "given" for role in given}
    for role, s in chosen.items():
        how = (f"by its acquisition ({describe_acquisition(s.acquisition)})"
               if picked[role][1] else "by its series description")
        found_by[role] = (f"DICOM series '{s.description}' ({len(s.files)} images) of the "
                          f"study of {_study_date(s.study_time)}, {how}")
        log.info("%s: DICOM series '%s' (%d images) in %s, %s", ROLE_TITLES[role],
                 s.description, len(s.files), s.folder, how)
    return CaseFiles(case_id=name, **{role: s.folder for role, s in chosen.items()},
                     **given, dicom_files={role: s.files for role, s in chosen.items()},
                     found_by=found_by)
