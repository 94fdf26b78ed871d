"""A synthetic skull and scalp around a skull-stripped brain, to test skull stripping.

Layers grow outward from the brain's surface (thicknesses in mm vary smoothly around the
head): subarachnoid CSF, the inner table of the skull, fatty marrow (diploe), the outer
table, the galea and muscle, subcutaneous fat and skin; beyond them air, which holds only
Rician noise. Mean intensity of each layer relative to the brain's median intensity on each
sequence (:data:`HEAD_INTENSITY`):

=================  =====  =====  =====  =====
layer              FLAIR  T1     T1c    T2
=================  =====  =====  =====  =====
CSF                0.25   0.35   0.35   3.00
cortical bone      0.04   0.04   0.04   0.04
marrow (diploe)    0.80   1.30   1.30   0.90
galea and muscle   0.50   0.70   0.75   0.60
subcutaneous fat   1.00   1.70   1.70   1.25
skin               0.70   0.80   0.85   0.80
=================  =====  =====  =====  =====

So the scalp fat is the brightest ring on T1 and T1c, bone is dark on every sequence, and
CSF is bright on T2 only. Brain voxels keep their values exactly, so a segmentation of the
case with the head can be compared voxel for voxel with one of the case without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

from omnet.data.naming import SEQUENCE_ROLES
from omnet.demo.fields import smooth_noise

__all__ = ["HEAD_INTENSITY", "HEAD_LAYERS", "add_synthetic_head", "head_layers"]

#: (name, thinnest, thickest) in mm, from the brain outward.
HEAD_LAYERS: tuple[tuple[str, float, float], ...] = (
    ("csf", 1.5, 3.5),
    ("inner table", 1.5, 2.5),
    ("marrow", 2.0, 5.0),
    ("outer table", 1.5, 2.5),
    ("muscle", 1.0, 3.0),
    ("fat", 3.0, 6.0),
    ("skin", 1.0, 2.0),
)
_LEVEL = {
    "csf": (0.25, 0.35, 0.35, 3.00),
    "inner table": (0.04, 0.04, 0.04, 0.04),
    "marrow": (0.80, 1.30, 1.30, 0.90),
    "outer table": (0.04, 0.04, 0.04, 0.04),
    "muscle": (0.50, 0.70, 0.75, 0.60),
    "fat": (1.00, 1.70, 1.70, 1.25),
    "skin": (0.70, 0.80, 0.85, 0.80),
}
#: role -> layer code (1 = first layer of HEAD_LAYERS) -> intensity / brain median.
HEAD_INTENSITY: dict[str, dict[int, float]] = {
    role: {code: _LEVEL[name][column] for code, (name, _, _) in enumerate(HEAD_LAYERS, 1)}
    for column, role in enumerate(SEQUENCE_ROLES)
}


def head_layers(brain: np.ndarray, spacing: Sequence[float],
                rng: np.random.Generator) -> np.ndarray:
    """uint8 layer codes (0 brain or air, 1.. as :data:`HEAD_LAYERS`) around a brain mask."""
    brain = np.asarray(brain, dtype=bool)
    depth = ndimage.distance_transform_edt(~brain, sampling=spacing).astype(np.float32)
    layers = np.zeros(brain.shape, dtype=np.uint8)
    outer = np.zeros(brain.shape, dtype=np.float32)
    for code, (_, thinnest, thickest) in enumerate(HEAD_LAYERS, 1):
        variation = np.clip(smooth_noise(brain.shape, spacing, 50.0, rng), -2.0, 2.0)
        inner = outer
        outer = inner + np.float32(thinnest) + np.float32(thickest - thinnest) * (
            0.5 + 0.25 * variation)
        layers[~brain & (depth > inner) & (depth <= outer)] = code
    return layers


def add_synthetic_head(images: Mapping[str, np.ndarray], spacing: Sequence[float],
                       brain: np.ndarray | None = None, seed: int = 0,
                       noise: float = 0.025) -> dict[str, np.ndarray]:
    """Role -> copy of each (z, y, x) image with skull, scalp and noisy air added around it.

    Args:
        images: skull-stripped sequences (roles flair, t1, t1ce, t2; any subset), one grid.
        spacing: voxel size in mm along (z, y, x).
        brain: the brain mask; default: voxels where any sequence is non-zero.
        seed: seed of the layer thicknesses, texture and noise.
        noise: Rician noise standard deviation as a fraction of the brain's median.
    """
    rng = np.random.default_rng(seed)
    if brain is None:
        brain = np.any([np.asarray(a) != 0 for a in images.values()], axis=0)
        brain = ndimage.binary_fill_holes(brain)
    layers = head_layers(brain, spacing, rng)
    texture = 1.0 + 0.05 * smooth_noise(brain.shape, spacing, 4.0, rng)
    result = {}
    for role, array in images.items():
        median = float(np.median(array[brain]))
        lut = np.zeros(len(HEAD_LAYERS) + 1, dtype=np.float32)
        for code, value in HEAD_INTENSITY[role].items():
            lut[code] = value * median
        clean = ndimage.gaussian_filter(lut[layers] * texture, 0.5)
        sigma = np.float32(noise * median)
        real = clean + sigma * rng.standard_normal(brain.shape, dtype=np.float32)
        imaginary = sigma * rng.standard_normal(brain.shape, dtype=np.float32)
        head = np.sqrt(real * real + imaginary * imaginary)
        if np.issubdtype(array.dtype, np.integer):
            info = np.iinfo(array.dtype)
            head = np.clip(np.rint(head), max(info.min, 0), info.max)
        result[role] = np.where(brain, array, head.astype(array.dtype))
    return result
