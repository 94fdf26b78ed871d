"""DICOM files for tests: an oblique MR geometry and :func:`write_enhanced_mr`, an Enhanced MR
file as a scanner writes it (pydicom), shared by the DICOM reading tests and the Slicer
module's role detection tests so that neither keeps a copy."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset, validate_file_meta
from pydicom.uid import ExplicitVRLittleEndian

__all__ = ["COLUMN", "ENHANCED_MR", "NORMAL", "ORIGIN", "ROW", "SPACING", "functional_groups",
           "write_enhanced_mr"]

#: The generator's geometry: 0.8 x 0.9 mm pixels, 2.5 mm slices, an oblique plane.
SPACING = (0.8, 0.9, 2.5)
ROW, COLUMN = (0.8, 0.6, 0.0), (-0.6, 0.8, 0.0)
NORMAL = tuple(np.cross(ROW, COLUMN))
ORIGIN = (-40.0, 12.5, 7.0)
#: Enhanced MR Image Storage.
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"


def _position(k: float) -> tuple[float, float, float]:
    return tuple(float(v) for v in np.add(ORIGIN, np.multiply(NORMAL, k * SPACING[2])))


def _pixels(frames: int) -> np.ndarray:
    return (np.arange(frames * 6 * 7).reshape(frames, 6, 7) % 97 + 1).astype(np.int16)


def _numbers(*values: float) -> list[str]:
    return [f"{v:.6g}" for v in values]


def _group(**sequences: Dataset) -> Dataset:
    """A functional group item: each keyword a one-item sequence."""
    group = Dataset()
    for keyword, item in sequences.items():
        setattr(group, keyword, [item])
    return group


def _plane_position(position) -> Dataset:
    plane = Dataset()
    plane.ImagePositionPatient = _numbers(*position)
    return plane


def write_enhanced_mr(path: Path, pixels: np.ndarray, positions, *,
                      syntax: str = ExplicitVRLittleEndian, shared_position=None,
                      header: Mapping[str, object] = MappingProxyType({}),
                      shared: Mapping[str, Dataset] = MappingProxyType({})) -> None:
    """An Enhanced MR Image Storage file as a scanner writes it: orientation and spacing
    shared, each frame's position in its own functional group (none where ``positions``
    has None) and, given ``shared_position``, one in the shared group too. ``header``:
    top-level attributes (keyword -> value) that add to or replace the defaults; ``shared``:
    more shared functional group sequences (keyword -> their one item)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ENHANCED_MR
    meta.TransferSyntaxUID = syntax
    data = Dataset()
    data.SOPClassUID, data.SOPInstanceUID, data.Modality = ENHANCED_MR, "1.2.3.9", "MR"
    data.StudyInstanceUID, data.SeriesInstanceUID = "1.2.3", "1.2.3.2"
    for keyword, value in header.items():
        setattr(data, keyword, value)
    meta.MediaStorageSOPInstanceUID = data.SOPInstanceUID
    validate_file_meta(meta, enforce_standard=True)  # adds the group length and version
    data.file_meta, data.preamble = meta, b"\x00" * 128
    frames, data.Rows, data.Columns = pixels.shape
    data.NumberOfFrames, data.SamplesPerPixel = frames, 1
    data.PhotometricInterpretation = "MONOCHROME2"
    data.BitsAllocated, data.BitsStored, data.HighBit, data.PixelRepresentation = 16, 16, 15, 1
    orientation, measures = Dataset(), Dataset()
    orientation.ImageOrientationPatient = _numbers(*ROW, *COLUMN)
    measures.SliceThickness = _numbers(SPACING[2])[0]
    measures.PixelSpacing = _numbers(SPACING[1], SPACING[0])
    shared_group = _group(PlaneOrientationSequence=orientation, PixelMeasuresSequence=measures,
                          **shared)
    if shared_position is not None:
        shared_group.PlanePositionSequence = [_plane_position(shared_position)]
    data.SharedFunctionalGroupsSequence = [shared_group]
    data.PerFrameFunctionalGroupsSequence = [
        Dataset() if p is None else _group(PlanePositionSequence=_plane_position(p))
        for p in positions]
    data.PixelData = pixels.astype("<i2").tobytes()
    pydicom.dcmwrite(str(path), data)


def _item(**attributes) -> Dataset:
    item = Dataset()
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return item


def functional_groups(tr, te, ti, contrast_given: bool) -> dict[str, Dataset]:
    """The MR timing, echo, modifier and contrast usage sequences' items, as a scanner
    writes them."""
    modifier = (_item(InversionRecovery="YES", InversionTimes=[ti]) if ti is not None
                else _item(InversionRecovery="NO"))
    usage = _item(ContrastBolusAgentNumber=1,
                  ContrastBolusAgentAdministered="YES" if contrast_given else "NO")
    return {"MRTimingAndRelatedParametersSequence": _item(RepetitionTime=tr, FlipAngle=9),
            "MREchoSequence": _item(EffectiveEchoTime=te), "MRModifierSequence": modifier,
            "ContrastBolusUsageSequence": usage}


def cut_short(path: Path) -> None:
    """Cut the file ``path`` inside the length of its last frame's Plane Position Sequence,
    where pydicom's reading of the header raises struct.error."""
    data = path.read_bytes()
    path.write_bytes(data[:data.rindex(b"\x20\x00\x13\x91") + 8])
