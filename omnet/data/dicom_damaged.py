"""DICOM files that GDCM leaves out of every series of their folder: a slice cut short by an
interrupted copy or export, whose header GDCM cannot read. GDCM's series scan drops such a
file without a word, so its series came one image short and was refused as having "a
missing image", or was read a slice short where the damaged one was at an end. pydicom
reads what is left of the header (imported on first need) to tell whose series it was."""

from __future__ import annotations

import logging
from pathlib import Path

from omnet.data.discovery import is_dicom_file, is_dicomdir, is_system_entry

__all__ = ["UNKNOWN_SERIES", "left_out_files"]

log = logging.getLogger(__name__)

#: The series of a file whose header names none that can be read.
UNKNOWN_SERIES = ""


def left_out_files(folder: Path, names: list[str], taken: set[str]) -> dict[str, list[str]]:
    """Series Instance UID (:data:`UNKNOWN_SERIES` where unreadable) -> the DICOM files
    among ``names`` (file names in ``folder``) that no series in ``taken`` (paths) holds."""
    left: dict[str, list[str]] = {}
    for name in sorted(names):
        path = folder / name
        if (is_system_entry(name) or is_dicomdir(path) or str(path) in taken
                or not (path.suffix.lower() in (".dcm", ".ima") or is_dicom_file(path))):
            continue
        left.setdefault(_series_uid(path), []).append(str(path))
    return left


def _series_uid(path: Path) -> str:
    """The Series Instance UID the file's header gives, as far as it can be read."""
    import pydicom

    try:
        header = pydicom.dcmread(path, stop_before_pixels=True, force=True,
                                 specific_tags=["SeriesInstanceUID"])
        return str(header.get("SeriesInstanceUID", UNKNOWN_SERIES)).strip()
    except Exception:  # any damage leaves the series unknown
        log.debug("%s: header unreadable", path, exc_info=True)
        return UNKNOWN_SERIES
