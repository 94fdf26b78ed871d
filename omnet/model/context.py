"""Sums over a patch-sized context: the whole input (paper) or a sliding window (large tiles).

CGA and SE summarise features over the input patch. During training and in exact
inference the input *is* a 32x32x16 patch, so a global sum is the paper's operation. When
the network runs on large tiles, a window of the training patch size centred on each voxel
gives every voxel the context it would have had in its own patch.
"""

from __future__ import annotations

import torch

__all__ = ["Window", "context_mean", "context_sum"]

Window = tuple[int, int, int]


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


def context_sum(x: torch.Tensor, window: Window | None) -> torch.Tensor:
    """Spatial sum of ``x`` (N, C, D, H, W): global (keepdim) or per-voxel box sum.

    Box sums run in float32 through cumulative sums (exact enough, O(1) per voxel).
    """
    if window is None:
        return x.sum(dim=(2, 3, 4), keepdim=True)
    out = x if x.dtype == torch.float64 else x.float()
    for dim, size in zip((2, 3, 4), window):
        out = _box_sum_axis(out, size, dim)
    return out.to(x.dtype)


def context_mean(x: torch.Tensor, window: Window | None) -> torch.Tensor:
    """Spatial mean over the same context as :func:`context_sum` (valid voxels only)."""
    if window is None:
        return x.mean(dim=(2, 3, 4), keepdim=True)
    ones = torch.ones((1, 1, *x.shape[2:]), device=x.device, dtype=torch.float32)
    return (context_sum(x, window).float() / context_sum(ones, window)).to(x.dtype)
