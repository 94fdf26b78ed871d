"""Per-sequence z-score over the brain voxels (the paper's intensity normalisation)."""

from __future__ import annotations

import numpy as np

__all__ = ["SPIKE_REACH", "spike_bounds", "zscore_nonzero"]

#: How far from the median, in units of the median-to-0.1/99.9th-percentile distance, a
#: value may lie before it counts as a spike (a hot voxel of a broken export). The 34
#: development cases reach at most 7.4 (T1), so their values are never touched.
SPIKE_REACH = 20.0


def zscore_nonzero(images: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Z-score each channel of ``images`` (C, z, y, x) over its brain voxels.

    Args:
        images: one volume per sequence; never modified.
        mask: boolean (z, y, x) brain mask shared by all channels; by default each channel
            uses its own non-zero voxels (skull-stripped data is zero outside the brain).

    Returns a new float32 array; voxels outside the mask are 0 (the mean of the brain), so
    zero padding later on looks like background. A constant channel is only centred.
    Spikes (:func:`spike_bounds`) are clipped first, so a few hot voxels cannot squash the
    rest of the brain towards zero.
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
        values = np.clip(values, *spike_bounds(values))
        mean = values.mean()
        std = values.std()
        scale = 1.0 / std if std > 0 else 1.0
        out[c][region] = ((values - mean) * scale).astype(np.float32)
    return out


def spike_bounds(values: np.ndarray) -> tuple[float, float]:
    """The range outside which a brain value is a spike: :data:`SPIKE_REACH` times the
    distance from the median to the 0.1th / 99.9th percentile (estimated on about 200,000
    of the values, enough at that reach and fast); unbounded on a side with no spread."""
    sample = values[::max(1, values.size // 200_000)]
    low, median, high = np.percentile(sample, [0.1, 50.0, 99.9])
    return (float(median - SPIKE_REACH * (median - low)) if low < median else -np.inf,
            float(median + SPIKE_REACH * (high - median)) if high > median else np.inf)
