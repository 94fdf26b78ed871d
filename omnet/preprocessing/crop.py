"""Crop to the brain, pad to what the network needs, and paste results back.

A bounding box is a tuple of three slices (z, y, x) with explicit start and stop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omnet.errors import InputError

__all__ = ["BBox", "bbox_shape", "brain_bbox", "brain_mask", "pad_to_multiple", "paste_back"]

BBox = tuple[slice, slice, slice]


def brain_mask(images: np.ndarray) -> np.ndarray:
    """Voxels where any sequence is non-zero (skull-stripped data is zero elsewhere)."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"expected (channels, z, y, x), got shape {images.shape}")
    return np.any(images != 0, axis=0)


def _per_axis(value: int | Sequence[int]) -> tuple[int, int, int]:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * 3
    value = tuple(int(v) for v in value)
    if len(value) != 3:
        raise ValueError(f"expected one value or three (z, y, x), got {value}")
    return value  # type: ignore[return-value]


def brain_bbox(mask: np.ndarray, margin: int | Sequence[int] = 0) -> BBox:
    """Bounding box of the ``True`` voxels grown by ``margin`` voxels, clipped to the volume.

    Raises:
        InputError: the mask is empty (no brain voxel at all).
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise ValueError(f"expected a 3D mask, got shape {mask.shape}")
    if not mask.any():
        raise InputError("no brain voxels: every sequence is zero everywhere")
    box = []
    for axis, m in enumerate(_per_axis(margin)):
        other = tuple(a for a in range(3) if a != axis)
        hits = np.flatnonzero(mask.any(axis=other))
        box.append(slice(max(0, int(hits[0]) - m), min(mask.shape[axis], int(hits[-1]) + 1 + m)))
    return tuple(box)  # type: ignore[return-value]


def bbox_shape(box: BBox) -> tuple[int, int, int]:
    return tuple(s.stop - s.start for s in box)  # type: ignore[return-value]


def pad_to_multiple(array: np.ndarray, multiple: int | Sequence[int] = 8,
                    minimum: int | Sequence[int] = 0,
                    value: float = 0.0) -> tuple[np.ndarray, BBox]:
    """Pad the last three axes at their end to multiples of ``multiple`` (and >= ``minimum``).

    Returns the padded array (a new one, or ``array`` itself if nothing was needed) and the
    box of the original data inside it, so ``padded[(..., *box)]`` gives ``array`` back.
    """
    spatial = array.shape[-3:]
    mult, low = _per_axis(multiple), _per_axis(minimum)
    target = [max(lo, -(-s // m) * m) for s, m, lo in zip(spatial, mult, low)]
    box = tuple(slice(0, s) for s in spatial)
    if list(spatial) == target:
        return array, box  # type: ignore[return-value]
    pads = [(0, 0)] * (array.ndim - 3) + [(0, t - s) for s, t in zip(spatial, target)]
    return np.pad(array, pads, constant_values=value), box  # type: ignore[return-value]


def paste_back(values: np.ndarray, box: BBox, shape: Sequence[int],
               fill: float | int = 0) -> np.ndarray:
    """Put ``values`` (..., bz, by, bx) into a new array of spatial ``shape`` at ``box``."""
    if tuple(values.shape[-3:]) != bbox_shape(box):
        raise ValueError(f"values {values.shape[-3:]} do not fit the box {bbox_shape(box)}")
    out = np.full((*values.shape[:-3], *shape), fill, dtype=values.dtype)
    out[(..., *box)] = values
    return out
