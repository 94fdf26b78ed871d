"""Test-time augmentation by mirroring, and the voxel-wise uncertainty it yields.

The network runs once per mirroring of the crop; each run's probabilities are mirrored back
and averaged, and the fusion's decisions are taken on the average. The uncertainty of a
voxel is the fraction of the mirrored runs whose own fused class differs from the
average's (0: all agree; 1: none gives the average's class, which happens where the average
of the runs picks a class that no single run picked). It is taken before post-processing,
so voxels that post-processing removed or relabelled show the network's doubt, not that
change; a person correcting the result sees where to look first.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence

import numpy as np
import torch

from omnet.inference.fusion import fuse_decisions, fuse_tasks, task_decisions
from omnet.inference.model_source import ModelSource
from omnet.inference.network import TASK_OUTPUTS
from omnet.inference.predict import NetworkRun, TilingSettings, predict_crop

__all__ = ["MIRRORINGS", "mirrorings", "predict_with_tta"]

#: ``--tta`` choices: every combination of the three axes (8 runs), or left-right only (2).
MIRRORINGS = ("all", "x")


def mirrorings(kind: str) -> list[tuple[int, ...]]:
    """Axis sets (of z, y, x = 0, 1, 2) to mirror, the identity first."""
    if kind == "x":
        return [(), (2,)]
    if kind == "all":
        return [axes for n in range(4) for axes in itertools.combinations((0, 1, 2), n)]
    raise ValueError(f"unknown test-time augmentation {kind!r}; choose {' or '.join(MIRRORINGS)}")


def _flip(array: np.ndarray, axes: Sequence[int], leading: int) -> np.ndarray:
    """``array`` mirrored along spatial ``axes`` after ``leading`` non-spatial axes."""
    return np.flip(array, axis=tuple(a + leading for a in axes)) if axes else array


def predict_with_tta(volume: np.ndarray, brain: np.ndarray, model: ModelSource,
                     device: torch.device, precision: str = "auto",
                     settings: TilingSettings | None = None, kind: str = "all",
                     with_probabilities: bool = False,
                     cancel: threading.Event | None = None,
                     progress: Callable[[float], None] | None = None) -> NetworkRun:
    """:func:`predict_crop` averaged over the mirrorings of ``kind``.

    The outputs hold the fusion's decisions on the mean probabilities (``tumour``,
    ``refined``, ``enhancing``, (1, z, y, x) uint8), ``uncertainty`` ((1, z, y, x) float32)
    and, with ``with_probabilities``, the mean probabilities ``task1..3``.
    """
    flips = mirrorings(kind)
    sums: dict[str, np.ndarray] = {}
    members: list[np.ndarray] = []
    run = None
    for k, axes in enumerate(flips):
        def member_progress(fraction: float, k: int = k) -> None:
            if progress is not None:
                progress((k + fraction) / len(flips))

        run = predict_crop(np.ascontiguousarray(_flip(volume, axes, 1)),
                           np.ascontiguousarray(_flip(brain, axes, 0)), model, device,
                           precision, settings, False, cancel, member_progress,
                           with_probabilities=True)
        probabilities = {name: _flip(run.outputs[name], axes, 1) for name in TASK_OUTPUTS}
        members.append(fuse_tasks(*(probabilities[name] for name in TASK_OUTPUTS)))
        for name, value in probabilities.items():
            sums[name] = value.astype(np.float32) if name not in sums else sums[name] + value
    assert run is not None
    mean = {name: value / len(flips) for name, value in sums.items()}
    decisions = task_decisions(*(mean[name] for name in TASK_OUTPUTS))
    final = fuse_decisions(decisions["tumour"], decisions["refined"], decisions["enhancing"])
    disagreement = np.zeros(final.shape, dtype=np.float32)
    for member in members:
        disagreement += member != final
    outputs: dict[str, np.ndarray] = {name: value[None] for name, value in decisions.items()}
    outputs["uncertainty"] = (disagreement / len(flips))[None]
    if with_probabilities:
        outputs.update(mean)
    events = [*run.events, f"test-time augmentation: {len(flips)} mirrorings ({kind})"]
    return NetworkRun(outputs, run.device, run.precision, run.tile_shape,
                      run.tiles * len(flips), run.batch_size, events, run.gpu_peak_mb)
