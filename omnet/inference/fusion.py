"""Fuse the three tasks' probabilities into one class map (the paper's cascade rules).

Rules, applied voxel by voxel on the probability maps p1 (5 classes), p2 (5 classes) and
p3 (2 classes: not enhancing, enhancing):

1. Coarse complete tumour: p1[NCR] + p1[ED] + p1[ET] > 0.5.
2. Region of interest: the coarse tumour dilated by a ball of ``dilation`` voxels
   (Euclidean distance in voxel units, <= 5 by default).
3. Inside the region, argmax(p2) decides: a tumour class (NCR, ED, ET) is complete tumour,
   and NCR or ET is tumour core. Outside the region everything is non-tumour.
4. Inside the core, task 3 decides: p3[enhancing] > p3[not] gives enhancing tumour (ET),
   otherwise necrosis / non-enhancing tumour (NCR/NET). Tumour that is not core is edema.

The rules only need three per-voxel decisions (rule 1's coarse tumour, task 2's argmax,
task 3's enhancing test): :func:`task_decisions` computes them from the probabilities and
:func:`fuse_decisions` applies rules 2-4, so the network stage can keep one byte per
voxel and decision instead of twelve float maps.

The result holds the network classes 0 (non-tumour), 1 NCR/NET, 2 ED, 3 ET; normal brain
is not kept apart (it becomes 0 like the background).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from omnet.labels import CORE_CLASSES, EDEMA, ENHANCING, NECROTIC, TUMOUR_CLASSES

__all__ = ["COARSE_DILATION", "DECISIONS", "coarse_tumour", "dilate_ball", "fuse_decisions",
           "fuse_tasks", "fused_classes", "task_decisions", "within_both_whole_tumours"]

#: Dilation of task 1's coarse tumour (voxels), from the paper.
COARSE_DILATION = 5
#: Names of the per-voxel decisions the fusion needs (uint8 maps).
DECISIONS = ("tumour", "refined", "enhancing")


def coarse_tumour(p1: np.ndarray) -> np.ndarray:
    """Task 1's summed tumour probability above one half."""
    return p1[list(TUMOUR_CLASSES)].sum(axis=0) > 0.5


def task_decisions(p1: np.ndarray, p2: np.ndarray, p3: np.ndarray) -> dict[str, np.ndarray]:
    """The decisions of :data:`DECISIONS` (uint8, z, y, x) from the three probability maps:
    coarse tumour (0/1), task 2's most likely class (0..4), enhancing (0/1)."""
    return {"tumour": coarse_tumour(p1).astype(np.uint8),
            "refined": np.argmax(p2, axis=0).astype(np.uint8),
            "enhancing": (p3[1] > p3[0]).astype(np.uint8)}


def dilate_ball(mask: np.ndarray, radius: float) -> np.ndarray:
    """Voxels within Euclidean distance ``radius`` (voxel units) of ``mask``."""
    if radius <= 0 or not mask.any():
        return mask.copy()
    reach = int(np.ceil(radius))
    box = []
    for axis in range(3):
        hits = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
        box.append(slice(max(0, hits[0] - reach), min(mask.shape[axis], hits[-1] + reach + 1)))
    box_t = tuple(box)
    out = np.zeros_like(mask, dtype=bool)
    out[box_t] = ndimage.distance_transform_edt(~mask[box_t]) <= radius
    return out


def fuse_decisions(tumour: np.ndarray, refined: np.ndarray, enhancing: np.ndarray,
                   dilation: float = COARSE_DILATION) -> np.ndarray:
    """Class map (uint8, 0..3) from the decisions of :func:`task_decisions`."""
    if not tumour.shape == refined.shape == enhancing.shape:
        raise ValueError("the three decision maps must share their shape")
    region = dilate_ball(tumour.astype(bool, copy=False), dilation)
    lookup_tumour = np.isin(np.arange(256), TUMOUR_CLASSES)
    lookup_core = np.isin(np.arange(256), CORE_CLASSES)
    refined = refined.astype(np.uint8, copy=False)
    tumour_mask = region & lookup_tumour[refined]
    core = tumour_mask & lookup_core[refined]
    classes = np.zeros(tumour.shape, dtype=np.uint8)
    classes[tumour_mask] = EDEMA
    classes[core] = NECROTIC
    classes[core & enhancing.astype(bool, copy=False)] = ENHANCING
    return classes


def fused_classes(outputs: dict[str, np.ndarray]) -> np.ndarray:
    """The class map of a network run's stitched decisions (``DECISIONS``, (1, z, y, x)
    each): what ``omnet segment``, training's validation and the benchmarks all fuse."""
    return fuse_decisions(*(outputs[name][0] for name in DECISIONS))


def fuse_tasks(p1: np.ndarray, p2: np.ndarray, p3: np.ndarray,
               dilation: float = COARSE_DILATION) -> np.ndarray:
    """Class map (uint8, 0..3) from the three tasks' probabilities, each (C, z, y, x)."""
    if not p1.shape[1:] == p2.shape[1:] == p3.shape[1:]:
        raise ValueError("the three probability maps must share their spatial shape")
    decisions = task_decisions(p1, p2, p3)
    return fuse_decisions(decisions["tumour"], decisions["refined"], decisions["enhancing"],
                          dilation)


def within_both_whole_tumours(classes: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """``classes`` (network classes) where ``extent`` also finds tumour, non-tumour elsewhere.

    Thick-slice input gets a second pass for the whole tumour's extent; each pass spills
    tumour where the other does not (the native pass edema along a blurred FLAIR, the
    matched pass along its own blur), so the whole tumour is where both see it, and its
    inside (core, enhancing) is the native pass's."""
    return np.where(extent > 0, classes, 0).astype(classes.dtype)
