"""A brute-force reference of fast mode's function: small overlapping tiles, centres kept.

Fast mode runs the network once over the brain's box with CGA/SE summarised over the
window centred on each voxel (cell). A network trained on inputs of ``tile`` voxels whose
central ``keep`` voxels were scored (``--loss-margin``) with that same window is meant to
compute the same function, whatever the tiling. This module computes it the slow way, as
in training: tiles of ``tile`` voxels on the 8-voxel grid of the box (so pooling sees the
same grid), stride ``keep``, zeros outside the box, keeping each tile's centre. Comparing
the two (``benchmarks/benchmark_agreement.py``) shows whether the default path computes
the function that was trained.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch

from omnet.inference.device import resolve_precision
from omnet.inference.fusion import DECISIONS, fuse_decisions
from omnet.inference.model_source import ModelSource
from omnet.inference.network import make_predictor
from omnet.inference.optimize import inference_copy
from omnet.inference.predict import TilingSettings, fast_window
from omnet.inference.tiling import network_region

__all__ = ["reference_classes"]


def reference_classes(volume: np.ndarray, brain: np.ndarray, model: ModelSource,
                      device: torch.device, tile: Sequence[int] = (32, 64, 64),
                      keep: Sequence[int] = (24, 48, 48), precision: str = "auto",
                      batch: int = 4) -> np.ndarray:
    """Fused network classes (z, y, x) of ``volume`` (4, z, y, x) computed tile by tile.

    ``tile - keep`` must be even and ``keep`` a multiple of 8 on every axis.
    """
    tile, keep = tuple(int(t) for t in tile), tuple(int(k) for k in keep)
    margin = []
    for t, k in zip(tile, keep):
        if (t - k) % 2 or k % 8 or k <= 0 or t < k:
            raise ValueError(f"tile {tile} and keep {keep}: keep must be a positive multiple "
                             "of 8, no larger than the tile, with an even difference")
        margin.append((t - k) // 2)
    region = network_region(brain)
    box = volume[(slice(None), *region)].astype(np.float32)
    shape = box.shape[1:]
    counts = [-(-n // k) for n, k in zip(shape, keep)]
    padded_shape = [c * k + 2 * m for c, k, m in zip(counts, keep, margin)]
    padded = np.zeros((box.shape[0], *padded_shape), dtype=np.float32)
    padded[(slice(None), *(slice(m, m + n) for m, n in zip(margin, shape)))] = box
    chosen = resolve_precision(device, precision)
    network = inference_copy(model.module, device, fold=True, channels_last=True,
                             dtype=chosen.dtype)
    network.eval()
    network.context_window = fast_window(TilingSettings())
    predict = make_predictor(network, device, chosen, channels_last=True,
                             with_probabilities=False)
    decisions = {name: np.zeros([c * k for c, k in zip(counts, keep)], dtype=np.uint8)
                 for name in DECISIONS}
    origins = list(itertools.product(*(range(0, c * k, k) for c, k in zip(counts, keep))))
    for first in range(0, len(origins), batch):
        group = origins[first:first + batch]
        x = torch.from_numpy(np.stack([padded[(slice(None), *(slice(o, o + t)
                                                              for o, t in zip(origin, tile)))]
                                       for origin in group]))
        out = predict(x)
        for index, origin in enumerate(group):
            centre = tuple(slice(m, m + k) for m, k in zip(margin, keep))
            target = tuple(slice(o, o + k) for o, k in zip(origin, keep))
            for name in DECISIONS:
                value = out[name][index, 0]
                value = value.cpu().numpy() if isinstance(value, torch.Tensor) else value
                decisions[name][target] = value[centre]
    crop = tuple(slice(0, n) for n in shape)
    classes_box = fuse_decisions(*(decisions[name][crop] for name in DECISIONS))
    classes = np.zeros(volume.shape[1:], dtype=np.uint8)
    classes[region] = classes_box
    return classes
