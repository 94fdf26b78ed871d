"""Where the tiles go: pure planning of tile positions and the region each one keeps.

A plan covers a volume of shape (z, y, x) with tiles of one input shape. Along each axis,
tile i reads ``[start_i, start_i + size)`` (positions outside the volume are zero padding)
and keeps its prediction for ``[keep_i[0], keep_i[1])``; the kept ranges partition the axis,
so every voxel is predicted by exactly one tile and stitching is a plain copy.

- :func:`plan_overlap_tile`: the paper's exact scheme, fixed patches with a fixed central
  kept region (16x32x32 patches keeping the central 5x20x20, i.e. a stride of 5x20x20).
- :func:`plan_large_tiles`: few large tiles; between two tiles the seam lies in the middle
  of their overlap, so each keeps at least ``margin`` voxels away from its own edge.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from omnet.preprocessing.crop import brain_bbox

__all__ = ["PAPER_KEEP", "PAPER_PATCH", "AxisPlan", "Tile", "TilePlan", "choose_tile_shape",
           "network_region", "plan_large_tiles", "plan_overlap_tile"]

#: The paper's patch (z, y, x) and the central part of it that is kept (= the stride).
PAPER_PATCH = (16, 32, 32)
PAPER_KEEP = (5, 20, 20)

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class AxisPlan:
    """Tiles along one axis: input starts (may be negative) and kept [start, stop) ranges."""

    length: int
    size: int
    starts: tuple[int, ...]
    keeps: tuple[tuple[int, int], ...]

    @property
    def pad_before(self) -> int:
        return max(0, -min(self.starts))

    @property
    def pad_after(self) -> int:
        return max(0, max(self.starts) + self.size - self.length)


@dataclass(frozen=True)
class Tile:
    """One tile: ``source`` slices the padded volume, ``keep`` slices the tile's output,
    ``target`` is where that kept part goes in the (unpadded) volume."""

    index: tuple[int, int, int]
    source: tuple[slice, slice, slice]
    keep: tuple[slice, slice, slice]
    target: tuple[slice, slice, slice]


@dataclass(frozen=True)
class TilePlan:
    """Tiles over a 3D volume; the volume must be zero-padded by ``padding`` first."""

    axes: tuple[AxisPlan, AxisPlan, AxisPlan]

    @property
    def shape(self) -> Shape:
        return tuple(a.length for a in self.axes)  # type: ignore[return-value]

    @property
    def tile_shape(self) -> Shape:
        return tuple(a.size for a in self.axes)  # type: ignore[return-value]

    @property
    def padding(self) -> tuple[tuple[int, int], ...]:
        return tuple((a.pad_before, a.pad_after) for a in self.axes)

    def __len__(self) -> int:
        return math.prod(len(a.starts) for a in self.axes)

    def tiles(self) -> list[Tile]:
        """Every tile in z, y, x order."""
        per_axis = []
        for axis in self.axes:
            entries = []
            for start, (k0, k1) in zip(axis.starts, axis.keeps):
                p = start + axis.pad_before
                entries.append((slice(p, p + axis.size), slice(k0 - start, k1 - start),
                                slice(k0, k1)))
            per_axis.append(entries)
        out = []
        for index in itertools.product(*[range(len(e)) for e in per_axis]):
            parts = [per_axis[a][i] for a, i in enumerate(index)]
            out.append(Tile(index=index, source=tuple(p[0] for p in parts),  # type: ignore[arg-type]
                            keep=tuple(p[1] for p in parts),  # type: ignore[arg-type]
                            target=tuple(p[2] for p in parts)))  # type: ignore[arg-type]
        return out


def _three(values: int | Sequence[int], name: str) -> Shape:
    values = (values,) * 3 if isinstance(values, int) else tuple(int(v) for v in values)
    if len(values) != 3 or any(v < 0 for v in values):
        raise ValueError(f"{name} must be three non-negative sizes (z, y, x), got {values}")
    return values  # type: ignore[return-value]


def _overlap_axis(length: int, patch: int, keep: int) -> AxisPlan:
    offset = (patch - keep) // 2
    count = -(-length // keep)
    starts = tuple(i * keep - offset for i in range(count))
    keeps = tuple((i * keep, min(length, (i + 1) * keep)) for i in range(count))
    return AxisPlan(length, patch, starts, keeps)


def plan_overlap_tile(shape: Sequence[int], patch: Sequence[int] = PAPER_PATCH,
                      keep: Sequence[int] = PAPER_KEEP) -> TilePlan:
    """The paper's overlap-tile scheme: patches at a stride of ``keep``, each keeping its
    central ``keep`` voxels (offset ``(patch - keep) // 2``: z-slices 5..9 of 16, rows and
    columns 6..25 of 32)."""
    shape, patch, keep = _three(shape, "shape"), _three(patch, "patch"), _three(keep, "keep")
    if any(k < 1 or k > p for k, p in zip(keep, patch)) or min(shape) < 1:
        raise ValueError(f"need 1 <= keep <= patch and a non-empty volume; got keep {keep}, "
                         f"patch {patch}, shape {shape}")
    return TilePlan(tuple(_overlap_axis(n, p, k)  # type: ignore[arg-type]
                          for n, p, k in zip(shape, patch, keep)))


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _large_axis_size(length: int, count: int, margin: int, multiple: int) -> int:
    """Smallest tile size (a multiple) for which ``count`` tiles cover ``length``."""
    if count == 1:
        return _round_up(length, multiple)
    return _round_up(-(-(length + 2 * margin * (count - 1)) // count), multiple)


def _large_axis(length: int, size: int, margin: int) -> AxisPlan:
    if size >= length:
        return AxisPlan(length, size, (0,), ((0, length),))
    count = 2
    while count * size - (count - 1) * 2 * margin < length:
        count += 1
    starts = [(i * (length - size)) // (count - 1) for i in range(count)]
    seams = [(starts[i + 1] + starts[i] + size) // 2 for i in range(count - 1)]
    bounds = [0, *seams, length]
    keeps = tuple((bounds[i], bounds[i + 1]) for i in range(count))
    return AxisPlan(length, size, tuple(starts), keeps)


def plan_large_tiles(shape: Sequence[int], tile: Sequence[int],
                     margin: Sequence[int]) -> TilePlan:
    """Cover ``shape`` with tiles of ``tile`` voxels, discarding ``margin`` voxels at each
    seam between tiles (not at the volume's edges, where the tile edge is the volume's).

    Raises ValueError if a tile is too small to keep anything (``tile <= 2 * margin``) while
    the axis needs more than one tile.
    """
    shape, tile, margin = _three(shape, "shape"), _three(tile, "tile"), _three(margin, "margin")
    axes = []
    for n, t, m in zip(shape, tile, margin):
        if t < n and t <= 2 * m:
            raise ValueError(f"tile size {t} cannot keep anything with a margin of {m}")
        axes.append(_large_axis(n, t, m))
    return TilePlan(tuple(axes))  # type: ignore[arg-type]


def choose_tile_shape(shape: Sequence[int], max_voxels: int, margin: Sequence[int],
                      multiple: int = 8, max_tiles_per_axis: int = 16) -> Shape:
    """The tile shape (multiples of ``multiple``) that covers ``shape`` with the fewest
    network voxels in total, under ``max_voxels`` voxels per tile.

    Falls back to the smallest legal tile (``2 * margin + multiple``) if nothing fits.
    """
    shape, margin = _three(shape, "shape"), _three(margin, "margin")
    options = []
    for n, m in zip(shape, margin):
        sizes = {}
        for count in range(1, max_tiles_per_axis + 1):
            size = _large_axis_size(n, count, m, multiple)
            if count > 1 and size <= 2 * m:
                break
            sizes.setdefault(size, count)
        options.append(sorted(sizes.items()))
    best: tuple[int, int, Shape] | None = None
    for combo in itertools.product(*options):
        tile = tuple(size for size, _ in combo)
        if math.prod(tile) > max_voxels:
            continue
        count = math.prod(c for _, c in combo)
        key = (count * math.prod(tile), count)
        if best is None or key < best[:2]:
            best = (*key, tile)  # type: ignore[assignment]
    if best is None:
        return tuple(_round_up(2 * m + multiple, multiple) for m in margin)  # type: ignore[return-value]
    return best[2]


def network_region(mask, multiple: int = 8, margin: int = 0) -> tuple[slice, slice, slice]:
    """The part of a volume the network needs to see: the bounding box of ``mask`` (z, y, x)
    grown by ``margin``, then to a multiple of ``multiple`` voxels, centred on the box and
    kept inside the volume where it fits (the whole axis otherwise; the tile plan pads it).

    Every voxel outside the region is far from the mask's box, so computing it is wasted.
    """
    if not mask.any():
        return tuple(slice(0, n) for n in mask.shape)  # type: ignore[return-value]
    region = []
    for box, length in zip(brain_bbox(mask, margin), mask.shape):
        start, stop = box.start, box.stop
        size = _round_up(stop - start, multiple)
        if size >= length:
            region.append(slice(0, length))
            continue
        start = min(max(0, start - (size - (stop - start)) // 2), length - size)
        region.append(slice(start, start + size))
    return tuple(region)  # type: ignore[return-value]
