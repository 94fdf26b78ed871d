"""Sums over a patch-sized context: the whole input (paper) or a sliding window (large tiles).

CGA and SE summarise features over the input patch. During training and in exact
inference the input *is* a 32x32x16 patch, so a global sum is the paper's operation. When
the network runs on large tiles, a window of the training patch size centred on each voxel
gives every voxel the context it would have had in its own patch.

A :class:`CoarseWindow` (fast inference) computes those window sums once per cell of
``step`` voxels instead of once per voxel: every voxel of a cell shares the window centred
on its cell. Sums over such windows are cell-level arrays; :func:`scale_by_context`
multiplies full-resolution features by them without expanding them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch.nn import functional

__all__ = ["CoarseWindow", "Window", "context_mean", "context_sum", "scale_by_context",
           "weighted_context_sum"]

Window = tuple[int, int, int]


class CoarseWindow(NamedTuple):
    """A box window of ``size`` voxels evaluated once per cell of ``step`` voxels.

    Each cell's value is the mean of the exact window sums at the cell's eight corners,
    i.e. the window centred on the cell. Inputs whose sizes are not multiples of ``step``,
    or windows that are not whole cells on each side, fall back to per-voxel windows.
    """

    size: Window
    step: Window


def _box_sum_axis(x: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Sum over a window of ``size`` along ``dim``: ``size // 2`` before, the rest after.

    Differences of a cumulative sum padded with zeros before and its last value after,
    so every window is two contiguous slices (no gathers).
    """
    n = x.shape[dim]
    before = size // 2
    after = size - before - 1
    csum = torch.cumsum(x, dim=dim)

    def shape(k: int) -> list[int]:
        return [k if d == dim else s for d, s in enumerate(csum.shape)]

    parts = [csum.new_zeros(shape(before + 1)), csum]
    if after:
        parts.append(csum.narrow(dim, n - 1, 1).expand(*shape(after)))
    padded = torch.cat(parts, dim=dim)  # padded[k + before] = sum of x[:k], clamped at n
    return padded.narrow(dim, before + after + 1, n) - padded.narrow(dim, 0, n)


def _box_sum(x: torch.Tensor, window: Window) -> torch.Tensor:
    out = x if x.dtype == torch.float64 else x.float()
    for dim, size in zip((2, 3, 4), window):
        out = _box_sum_axis(out, size, dim)
    return out


def _uses_cells(shape: torch.Size | tuple[int, ...], window: CoarseWindow) -> bool:
    """True when ``window`` can be evaluated on whole cells of a (..., D, H, W) input."""
    return all(n % s == 0 and w % (2 * s) == 0
               for n, w, s in zip(shape[-3:], window.size, window.step))


def _cell_sums(x: torch.Tensor, step: Window) -> torch.Tensor:
    """Sum of ``x`` over each cell of ``step`` voxels (a strided depthwise convolution)."""
    channels = x.shape[1]
    kernel = torch.ones((channels, 1, *step), dtype=x.dtype, device=x.device)
    return functional.conv3d(x, kernel, stride=step, groups=channels)


def _centred_cell_kernel(cells: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Weights (1, 1/2 at both ends) of ``cells + 1`` cells: the mean of two windows of
    ``cells`` cells, one ending and one starting a cell later, i.e. centred on a cell."""
    kernel = torch.ones(cells + 1, dtype=dtype, device=device)
    kernel[0] = kernel[-1] = 0.5
    return kernel


def _coarse_sum(cells: torch.Tensor, window: CoarseWindow) -> torch.Tensor:
    """Window sums centred on each cell from the cell sums (float32 or float64).

    Along each axis the exact window sum at voxel ``step * k`` (an anchor) covers the cells
    ``k - h .. k + h - 1`` (h = half the window in cells); a cell's value is the mean of
    its two anchors ``k`` and ``k + 1``: one separable depthwise convolution per axis with
    weights 1/2, 1, ..., 1, 1/2 over ``2h + 1`` zero-padded cells.
    """
    out = cells if cells.dtype == torch.float64 else cells.float()
    out = out.contiguous(memory_format=torch.channels_last_3d)  # depthwise convs' fast layout
    channels = out.shape[1]
    with torch.autocast(out.device.type, enabled=False):
        for axis, (size, step) in enumerate(zip(window.size, window.step)):
            half = size // (2 * step)
            taps = _centred_cell_kernel(2 * half, out.dtype, out.device)
            shape = [1, 1, 1]
            shape[axis] = taps.numel()
            padding = [0, 0, 0]
            padding[axis] = half
            kernel = taps.reshape(1, 1, *shape).expand(channels, 1, *shape)
            out = functional.conv3d(out, kernel, padding=padding, groups=channels)
    return out


def context_sum(x: torch.Tensor, window: Window | CoarseWindow | None) -> torch.Tensor:
    """Spatial sum of ``x`` (N, C, D, H, W): global (keepdim) or per-voxel box sum.

    Box sums run in float32 through cumulative sums (exact enough, O(1) per voxel). With a
    :class:`CoarseWindow` the result is per cell, (N, C, D/sz, H/sy, W/sx), in float32.
    """
    if window is None:
        return x.sum(dim=(2, 3, 4), keepdim=True)
    if isinstance(window, CoarseWindow):
        if _uses_cells(x.shape, window):
            return _coarse_sum(_cell_sums(x, window.step), window)
        window = window.size
    return _box_sum(x, window).to(x.dtype)


def weighted_context_sum(weight: torch.Tensor, x: torch.Tensor,
                         window: Window | CoarseWindow | None) -> torch.Tensor:
    """``context_sum(weight * x, window)``; for a coarse window the product is formed in
    the dtype of ``x`` (bfloat16 under autocast), since it is summed right away."""
    if isinstance(window, CoarseWindow) and _uses_cells(x.shape, window):
        return context_sum(weight.to(x.dtype) * x, window)
    return context_sum(weight * x, window)


def _expand_cells(cells: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Repeat each cell value over its voxels: (N, C, d, h, w) -> (N, C, *shape)."""
    out = cells
    for dim, n in zip((2, 3, 4), shape):
        out = out.repeat_interleave(n // out.shape[dim], dim=dim)
    return out


def scale_by_context(x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """``x * factors`` where ``factors`` is per voxel, global, or per cell (then each cell's
    factors scale its voxels; they are expanded along the last axis only, so the product
    runs over long contiguous rows in both memory layouts)."""
    cells = tuple(factors.shape[2:])
    spatial = tuple(x.shape[2:])
    if cells == spatial or math.prod(cells) == 1:
        return x * factors
    (n, c, depth, height, width), (d, h, w) = x.shape, cells
    factors = factors.to(x.dtype)  # cell factors are float32; keep x's (autocast) dtype
    if x.is_contiguous(memory_format=torch.channels_last_3d) and not x.is_contiguous():
        rows = factors.permute(0, 2, 3, 4, 1).repeat_interleave(width // w, dim=3)
        view = x.permute(0, 2, 3, 4, 1).reshape(n, d, depth // d, h, height // h, width, c)
        scaled = view * rows[:, :, None, :, None]
        return scaled.reshape(n, depth, height, width, c).permute(0, 4, 1, 2, 3)
    rows = factors.repeat_interleave(width // w, dim=4)
    view = x.reshape(n, c, d, depth // d, h, height // h, width)
    scaled = view * rows[:, :, :, None, :, None]
    return scaled.reshape(n, c, depth, height, width)


def context_mean(x: torch.Tensor, window: Window | CoarseWindow | None) -> torch.Tensor:
    """Spatial mean over the same context as :func:`context_sum` (valid voxels only),
    per voxel (coarse windows are expanded to full resolution)."""
    if window is None:
        return x.mean(dim=(2, 3, 4), keepdim=True)
    ones = torch.ones((1, 1, *x.shape[2:]), device=x.device, dtype=torch.float32)
    mean = context_sum(x, window).float() / context_sum(ones, window)
    if mean.shape[2:] != x.shape[2:]:
        mean = _expand_cells(mean, tuple(x.shape[2:]))
    return mean.to(x.dtype)
