"""The acquisition parameters of an Enhanced MR file (one file, all frames), read with pydicom.

A classic MR image carries TR, TE, TI and the contrast agent as top-level attributes, which
GDCM reads (:data:`omnet.data.acquisition.ACQUISITION_TAGS`). An Enhanced MR image (PS3.3
C.8.13, what current Philips and Siemens XA scanners write) keeps them in its functional
groups (C.8.13.5), in the Shared Functional Groups Sequence where every frame has the same
and in each frame's item of the Per-frame Functional Groups Sequence otherwise, where GDCM's
header reading does not look:

- MR Timing and Related Parameters Sequence (0018,9112): Repetition Time (0018,0080);
- MR Echo Sequence (0018,9114): Effective Echo Time (0018,9082), taken as TE;
- MR Modifier Sequence (0018,9115): Inversion Recovery (0018,9009) and Inversion Times
  (0018,9079), the first taken as TI;
- Contrast/Bolus Usage Sequence (0018,9341): Contrast/Bolus Agent Administered (0018,9342).

Top-level, it states Acquisition Contrast (0008,9209) and, in the MR Pulse Sequence module,
Echo Pulse Sequence (0018,9008: SPIN, GRADIENT, BOTH) and Echo Planar Pulse Sequence
(0018,9018), which stand in for a classic image's Scanning Sequence. De-identification keeps
all of them. pydicom reads the file (:func:`omnet.data.dicom_geometry.from_header`).
"""

from __future__ import annotations

import dataclasses
import os

from omnet.data.acquisition import Acquisition
from omnet.data.dicom_geometry import from_header

__all__ = ["ADMINISTERED", "ENHANCED_CLASSES", "SOP_CLASS", "enhanced_acquisition",
           "file_acquisition"]

#: The contrast agent entry of a file whose frames say the agent had been administered.
ADMINISTERED = "Contrast/Bolus Agent Administered"
#: SOP Class UID, the tag that tells an Enhanced MR file from a classic one.
SOP_CLASS = "0008|0016"
#: Enhanced MR and Legacy Converted Enhanced MR Image Storage: parameters in functional groups.
ENHANCED_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.4.4"})
#: Echo Pulse Sequence -> the classic Scanning Sequence value (BOTH, GRASE: a spin echo).
_ECHO_PULSE = {"SPIN": "SE", "GRADIENT": "GR"}


def file_acquisition(path: str | os.PathLike, sop_class: str,
                     classic: Acquisition) -> Acquisition:
    """The acquisition parameters of the DICOM file ``path`` whose header gave ``sop_class``
    and ``classic`` (the top-level :data:`~omnet.data.acquisition.ACQUISITION_TAGS`): an
    Enhanced MR file's from its functional groups, any other's as given. One rule for
    ``omnet segment``'s DICOM folders and the Slicer module's DICOM database, so both give a
    series the same role."""
    if sop_class.strip("\x00 ") in ENHANCED_CLASSES:
        return enhanced_acquisition(path, classic)
    return classic


def enhanced_acquisition(path: str | os.PathLike, classic: Acquisition) -> Acquisition:
    """The acquisition parameters of the Enhanced MR file ``path`` from its functional groups,
    each one they lack taken from ``classic`` (what its top-level header gave); ``classic``
    itself when pydicom cannot read the file."""
    found = from_header(path, _from_functional_groups, None)
    if found is None:
        return classic
    given = {f.name: getattr(found, f.name) for f in dataclasses.fields(found)}
    return dataclasses.replace(classic, **{name: value for name, value in given.items()
                                           if value not in (None, "", ())})


def _from_functional_groups(dataset) -> Acquisition:
    """TR, effective TE, first TI, echo type, contrast agent and Acquisition Contrast of an
    Enhanced MR data set (None, "" or () where it gives none)."""
    timing = _group_item(dataset, "MRTimingAndRelatedParametersSequence")
    modifier = _group_item(dataset, "MRModifierSequence")
    inverted = _text(modifier, "InversionRecovery")
    inversion = _number(modifier, "InversionTimes") if inverted != "NO" else None
    scanning = (_ECHO_PULSE.get(_text(dataset, "EchoPulseSequence"), ""),
                "IR" if inverted == "YES" or inversion else "",
                "EP" if _text(dataset, "EchoPlanarPulseSequence") == "YES" else "")
    usage = _group_item(dataset, "ContrastBolusUsageSequence", every_item=True) or []
    administered = any(_text(item, "ContrastBolusAgentAdministered") == "YES" for item in usage)
    return Acquisition(_number(timing, "RepetitionTime"),
                       _number(_group_item(dataset, "MREchoSequence"), "EffectiveEchoTime"),
                       inversion, tuple(s for s in scanning if s),
                       contrast_agent=ADMINISTERED if administered else "",
                       acquisition_contrast=_text(dataset, "AcquisitionContrast"))


def _group_item(dataset, keyword: str, every_item: bool = False):
    """The first item (``every_item``: all items) of the functional group sequence
    ``keyword``, from the Shared Functional Groups, else from the first frame's; None where
    neither has it."""
    shared = list(dataset.get("SharedFunctionalGroupsSequence") or [])[:1]
    first_frame = list(dataset.get("PerFrameFunctionalGroupsSequence") or [])[:1]
    for group in shared + first_frame:
        items = group.get(keyword)
        if items:
            return list(items) if every_item else items[0]
    return None


def _value(item, keyword: str):
    """The (first) value of the attribute ``keyword`` of ``item``; None absent or empty."""
    value = item.get(keyword) if item is not None else None
    if value is not None and not isinstance(value, str) and hasattr(value, "__iter__"):
        value = next(iter(value), None)  # a multi-valued attribute
    return None if value == "" else value


def _text(item, keyword: str) -> str:
    """A code string attribute of ``item``, stripped and upper case ("" absent)."""
    value = _value(item, keyword)
    return "" if value is None else str(value).strip().upper()


def _number(item, keyword: str) -> float | None:
    """The (first) number of the attribute ``keyword`` of ``item``; None absent."""
    value = _value(item, keyword)
    return None if value is None else float(value)
