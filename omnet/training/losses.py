"""Per-task training losses: cross-entropy (the paper) and cross-entropy plus soft Dice.

Both are computed on the loss region of each patch (the patch less ``loss_margin`` voxels at
each side, which give the network context only), so the voxels that are scored are the ones
whose neighbourhood the network saw as it sees it at inference.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn.functional import cross_entropy, one_hot

__all__ = ["crop_margin", "soft_dice_loss", "task_loss"]

_SMOOTH = 1e-5


def crop_margin(x: torch.Tensor, margin: Sequence[int]) -> torch.Tensor:
    """``x`` (..., z, y, x) without ``margin`` voxels at each side of the last three axes."""
    if not any(margin):
        return x
    index = [slice(None)] * (x.ndim - 3)
    index += [slice(m, n - m) for m, n in zip(margin, x.shape[-3:])]
    return x[tuple(index)]


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - mean soft Dice of the non-background classes, summed over the whole batch (the
    "batch Dice" of nnU-Net, stable when a patch lacks a class)."""
    probabilities = torch.softmax(logits.float(), dim=1)
    reference = one_hot(target, logits.shape[1]).movedim(-1, 1).to(probabilities.dtype)
    axes = (0, *range(2, logits.dim()))
    intersection = (probabilities * reference).sum(axes)[1:]
    total = (probabilities + reference).sum(axes)[1:]
    dice = (2 * intersection + _SMOOTH) / (total + _SMOOTH)
    return 1.0 - dice.mean()


def task_loss(kind: str, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``ce`` or ``ce+dice`` of one task's logits (N, C, ...) against class indices (N, ...)."""
    loss = cross_entropy(logits.float(), target)
    if kind == "ce+dice":
        loss = loss + soft_dice_loss(logits, target)
    elif kind != "ce":
        raise ValueError(f"unknown loss {kind!r}")
    return loss
