"""Smooth random fields and grid coordinates for the synthetic demo case (numpy + scipy)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["centred_coordinates", "smooth_noise"]


def centred_coordinates(shape: Sequence[int], spacing: Sequence[float],
                        ) -> tuple[np.ndarray, ...]:
    """Per-axis coordinates in mm from the grid centre, shaped to broadcast (z, y, x)."""
    axes = []
    for axis, (n, step) in enumerate(zip(shape, spacing)):
        values = (np.arange(n, dtype=np.float32) - (n - 1) / 2.0) * np.float32(step)
        view = [1] * len(shape)
        view[axis] = n
        axes.append(values.reshape(view))
    return tuple(axes)


def smooth_noise(shape: Sequence[int], spacing: Sequence[float], scale_mm: float,
                 rng: np.random.Generator) -> np.ndarray:
    """A smooth random field (float32, mean 0, standard deviation about 1).

    White noise on a coarse grid (cells of ``scale_mm / 2``) is Gaussian-smoothed there and
    interpolated linearly onto the full grid: features are about ``scale_mm`` across, and
    the cost stays small for a full-size head.
    """
    cell = scale_mm / 2.0
    coarse_shape = tuple(int(np.ceil(n * s / cell)) + 3 for n, s in zip(shape, spacing))
    coarse = ndimage.gaussian_filter(rng.standard_normal(coarse_shape), 1.0, mode="wrap")
    coarse = ((coarse - coarse.mean()) / (coarse.std() + 1e-12)).astype(np.float32)
    factors = [n / c for n, c in zip(shape, coarse_shape)]
    field = ndimage.zoom(coarse, factors, order=1, mode="nearest", grid_mode=False)
    if field.shape != tuple(shape):  # zoom rounds its output size; never off by more than 1
        pad = [(0, max(0, n - f)) for n, f in zip(shape, field.shape)]
        field = np.pad(field, pad, mode="edge")[tuple(slice(0, n) for n in shape)]
    return field
