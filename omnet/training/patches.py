"""Cut fixed-size patches out of volumes and augment them (array functions, no I/O).

A patch of size s centred on voxel c spans ``c - s // 2`` to ``c - s // 2 + s`` along each
axis; whatever falls outside the volume is zero (background, class 0), as in the paper's
padded volumes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omnet.training.config import AugmentSettings

__all__ = ["augment_patch", "extract_patch"]


def extract_patch(volume: np.ndarray, centre: Sequence[int], size: Sequence[int],
                  dtype: np.dtype | type | None = None) -> np.ndarray:
    """The ``size`` (z, y, x) patch of ``volume`` (..., z, y, x) centred on ``centre``.

    Works on memory-mapped arrays (reads only the patch); returns a new array of ``dtype``
    (default: the volume's), zero where the patch leaves the volume.
    """
    spatial = volume.shape[-3:]
    lead = volume.shape[:-3]
    out = np.zeros((*lead, *size), dtype=dtype or volume.dtype)
    src, dst = [], []
    for c, s, n in zip(centre, size, spatial):
        start = int(c) - s // 2
        lo, hi = max(start, 0), min(start + s, n)
        if hi <= lo:
            return out
        src.append(slice(lo, hi))
        dst.append(slice(lo - start, hi - start))
    out[(..., *dst)] = volume[(..., *src)]
    return out


def augment_patch(image: np.ndarray, classes: np.ndarray, rng: np.random.Generator,
                  settings: AugmentSettings) -> tuple[np.ndarray, np.ndarray]:
    """Random flips (image and labels together) and a per-channel intensity scale/shift
    inside the brain (voxels with a class other than background), returning new arrays.

    Args:
        image: (C, z, y, x) float patch.
        classes: (z, y, x) network classes of the same patch.
    """
    image = np.array(image, dtype=np.float32, copy=True)
    classes = np.array(classes, copy=True)
    if not settings.augment:
        return image, classes
    for axis in settings.flip_axes:
        if rng.random() < 0.5:
            image = np.flip(image, axis=axis + 1)
            classes = np.flip(classes, axis=axis)
    channels = image.shape[0]
    scale = 1.0 + rng.uniform(-settings.intensity_scale, settings.intensity_scale, channels)
    shift = rng.uniform(-settings.intensity_shift, settings.intensity_shift, channels)
    brain = classes > 0
    image = np.ascontiguousarray(image)
    for c in range(channels):
        image[c][brain] = image[c][brain] * np.float32(scale[c]) + np.float32(shift[c])
    return image, np.ascontiguousarray(classes)
