"""Per-sequence z-score over the brain voxels (the paper's intensity normalisation)."""

from __future__ import annotations

import numpy as np

__all__ = ["zscore_nonzero"]


def zscore_nonzero(images: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Z-score each channel of ``images`` (C, z, y, x) over its brain voxels.

    Args:
        images: one volume per sequence; never modified.
        mask: boolean (z, y, x) brain mask shared by all channels; by default each channel
            uses its own non-zero voxels (skull-stripped data is zero outside the brain).

    Returns a new float32 array; voxels outside the mask are 0 (the mean of the brain), so
    zero padding later on looks like background. A constant channel is only centred.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"expected (channels, z, y, x), got shape {images.shape}")
    if mask is not None and mask.shape != images.shape[1:]:
        raise ValueError(f"mask shape {mask.shape} does not match images {images.shape[1:]}")
    out = np.zeros(images.shape, dtype=np.float32)
    for c, channel in enumerate(images):
        region = mask if mask is not None else channel != 0
        values = channel[region].astype(np.float64)
        if values.size == 0:
            continue
        mean = values.mean()
        std = values.std()
        scale = 1.0 / std if std > 0 else 1.0
        out[c][region] = ((values - mean) * scale).astype(np.float32)
    return out
