"""Where a DICOM series' slices lie, as their headers say, against where the volume read puts
them (pure, no SimpleITK).

GDCM stacks a series' slices at one spacing whatever their positions: a missing image or a
series that mixes stacks is read as a uniform volume, each slice after the gap misplaced,
with no more than a warning on the console. An Enhanced MR file (one file, many frames)
keeps each frame's position in its per-frame functional groups, which GDCM reads only when
the frames are evenly spaced and in order; otherwise it stacks them in file order 1 mm
apart. Both are checked here so that a volume whose slices are not where their headers say
is refused instead of segmented.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MisplacedSlice", "frame_positions", "misplaced_slice", "parse_position"]

#: A slice farther than this share of the slice spacing from where the volume puts it is
#: misplaced (a missing slice moves those after it by about half a spacing or more).
MISPLACED_SHARE = 0.1
#: Plane Position Sequence (0020,9113), explicit or implicit VR little endian, its first
#: item, and the Image Position (Patient) (0020,0032) that opens it.
_PLANE_POSITION = re.compile(rb"\x20\x00\x13\x91(?:SQ\x00\x00)?.{4}\xfe\xff\x00\xe0.{4}"
                             rb"\x20\x00\x32\x00", re.DOTALL)


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


def frame_positions(data: bytes) -> list[tuple[float, float, float]]:
    """Each frame's Image Position (Patient) from the per-frame Plane Position Sequences of
    a multi-frame DICOM file's bytes, in frame order (little endian transfer syntaxes)."""
    positions = []
    for match in _PLANE_POSITION.finditer(data):
        at = match.end()
        if data[at:at + 2] == b"DS":  # explicit VR: 2-byte length
            (length,), at = struct.unpack_from("<H", data, at + 2), at + 4
        else:
            (length,), at = struct.unpack_from("<I", data, at), at + 4
        position = parse_position(data[at:at + length].decode("ascii", "replace"))
        if position is not None:
            positions.append(position)
    return positions


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
