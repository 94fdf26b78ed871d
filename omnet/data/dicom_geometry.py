"""Where a DICOM series' slices lie, as their headers say, against where the volume read puts
them (pure, no SimpleITK).

GDCM stacks a series' slices at one spacing whatever their positions: a missing image or a
series that mixes stacks is read as a uniform volume, each slice after the gap misplaced,
with no more than a warning on the console. An Enhanced MR file (one file, many frames)
keeps each frame's position in its per-frame functional groups, which GDCM reads only when
the frames are evenly spaced and in order; otherwise it stacks them in file order 1 mm
apart. Both are checked here so that a volume whose slices are not where their headers say
is refused instead of segmented. pydicom reads the frame positions (imported on first need,
so that importing this module stays light).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

__all__ = ["MisplacedSlice", "frame_positions", "from_header", "misplaced_slice",
           "parse_position"]

T = TypeVar("T")

#: A slice farther than this share of the slice spacing from where the volume puts it is
#: misplaced (a missing slice moves those after it by about half a spacing or more).
MISPLACED_SHARE = 0.1


@dataclass(frozen=True)
class MisplacedSlice:
    """The slice (in reading order, from 0) farthest from where the volume puts it."""

    index: int
    count: int
    distance_mm: float
    spacing_mm: float


def parse_position(text: str) -> tuple[float, float, float] | None:
    """An Image Position (Patient) value ("x\\y\\z", mm); None unless three numbers."""
    try:
        values = tuple(float(v) for v in text.strip().split("\\"))
    except ValueError:
        return None
    return values if len(values) == 3 else None  # type: ignore[return-value]


def from_header(path: str | os.PathLike, extract: Callable[[Any], T], default: T) -> T:
    """``extract`` applied to the header of the DICOM file ``path`` (pydicom's data set, read
    up to the pixels), or ``default`` when pydicom cannot read it: a file cut short, an
    unknown value representation, a value of the wrong length or a deflated data set that
    does not inflate raise anything from ``struct.error`` to ``zlib.error``, as the header is
    read or as a value is."""
    import pydicom  # only here: a study of classic images needs no pydicom
    from pydicom.errors import BytesLengthException, InvalidDicomError

    try:  # force: GDCM, which read the volume, reads a file without the DICM preamble too
        dataset = pydicom.dcmread(os.fspath(path), stop_before_pixels=True, force=True)
        return extract(dataset)
    except (InvalidDicomError, BytesLengthException, OSError, ValueError, TypeError,
            AttributeError, KeyError, IndexError, EOFError, NotImplementedError, struct.error,
            zlib.error):
        return default


def frame_positions(path: str | os.PathLike) -> list[tuple[float, float, float]]:
    """Each frame's Image Position (Patient) of a multi-frame DICOM file, in frame order: from
    the frame's Plane Position Sequence in the Per-frame Functional Groups, else from the
    Shared Functional Groups (where the standard allows it). A frame neither gives is left
    out; a file pydicom cannot read gives none."""
    return [p for p in from_header(path, _positions, []) if p is not None]


def _positions(dataset) -> list[tuple[float, float, float] | None]:
    """Each frame's position (None where neither its group nor the shared one gives it)."""
    shared = _first(dataset.get("SharedFunctionalGroupsSequence"))
    per_frame = dataset.get("PerFrameFunctionalGroupsSequence") or []
    return [_plane_position(group) or _plane_position(shared) for group in per_frame]


def _first(sequence):
    """The first item of a DICOM sequence, or None."""
    return sequence[0] if sequence else None


def _plane_position(group) -> tuple[float, float, float] | None:
    """The Image Position (Patient) of a functional group item's Plane Position Sequence;
    None unless three numbers."""
    try:
        position = tuple(float(v) for v in group.PlanePositionSequence[0].ImagePositionPatient)
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    return position if len(position) == 3 else None  # type: ignore[return-value]


def misplaced_slice(origin: Sequence[float], spacing: Sequence[float],
                    direction: Sequence[float],
                    positions: Sequence[Sequence[float]]) -> MisplacedSlice | None:
    """The slice whose header position is farthest from where a volume of this origin,
    spacing and direction (ITK's, row-major 3x3) puts slice ``k``, if farther than
    :data:`MISPLACED_SHARE` of the slice spacing; None when every slice is in place."""
    axes = np.asarray(direction, dtype=float).reshape(3, 3) * np.asarray(spacing, dtype=float)
    index = np.arange(len(positions))
    expected = np.asarray(origin, dtype=float) + np.outer(index, axes[:, 2])
    distance = np.linalg.norm(np.asarray(positions, dtype=float) - expected, axis=1)
    worst = int(np.argmax(distance))
    if distance[worst] <= MISPLACED_SHARE * spacing[2]:
        return None
    return MisplacedSlice(worst, len(positions), float(distance[worst]), float(spacing[2]))
