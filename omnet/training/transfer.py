"""Online data transfer between tasks and the per-task training targets (array functions).

In the concatenated batch each patch comes from one task's sampler. With transfer on, a
task-1 patch whose voxels are at least 40% tumour also trains task 2, and a task-1 or task-2
patch whose voxels are at least 50% core also trains task 3 (its labels remapped to the
binary enhancing / not task). Thresholds are counts ``floor(fraction * voxels)``: the
release's 6553 and 8192 of 16384 voxels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from omnet.labels import CORE_CLASSES, ENHANCING, TUMOUR_CLASSES

__all__ = ["task_groups", "task_target"]


def _fraction_count(classes: np.ndarray, members: Sequence[int]) -> np.ndarray:
    """Voxels of each patch (N, ...) whose class is in ``members``."""
    flat = classes.reshape(len(classes), -1)
    return np.isin(flat, members).sum(axis=1)


def task_groups(classes: np.ndarray, source: np.ndarray, active: Sequence[int],
                transfer: bool = True, tumour_fraction: float = 0.4,
                core_fraction: float = 0.5) -> dict[int, np.ndarray]:
    """Indices of the patches each active task trains on.

    Args:
        classes: (N, z, y, x) network classes of the batch.
        source: (N,) the task whose sampler drew each patch.
        active: tasks trained at this iteration.
        transfer: add the transferred patches (else each task trains on its own only).

    Returns:
        ``{task: sorted int64 indices}`` for every active task (possibly empty).
    """
    source = np.asarray(source)
    own = {t: source == t for t in active}
    groups = {t: own[t].copy() for t in active}
    if transfer and len(classes):
        voxels = int(np.prod(classes.shape[1:]))
        tumour = _fraction_count(classes, TUMOUR_CLASSES) >= math.floor(tumour_fraction * voxels)
        core = _fraction_count(classes, CORE_CLASSES) >= math.floor(core_fraction * voxels)
        if 2 in groups:
            groups[2] |= (source == 1) & tumour
        if 3 in groups:
            groups[3] |= ((source == 1) | (source == 2)) & core
    return {t: np.flatnonzero(mask).astype(np.int64) for t, mask in groups.items()}


def task_target(classes: np.ndarray, task: int) -> np.ndarray:
    """Labels of ``task`` for patches of network classes: 5 classes, or enhancing (task 3)."""
    if task == 3:
        return (classes == ENHANCING).astype(np.int64)
    return classes.astype(np.int64)
