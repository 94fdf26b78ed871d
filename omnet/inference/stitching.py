"""Run a tile plan through any predictor and stitch the kept parts of each tile.

The predictor is a callable ``(N, C, tz, ty, tx) float32 tensor -> {name: (N, C_name, tz,
ty, tx) array or tensor}``; outputs are copied, never averaged, so an exact predictor gives
an exact result. Tiles whose input holds no brain voxel can be skipped: their outputs keep
the fill value given per output (e.g. probability 1 for background).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

import numpy as np
import torch

from omnet.errors import Cancelled
from omnet.inference.tiling import Tile, TilePlan

__all__ = ["Predictor", "TileProgress", "embed_outputs", "pad_volume", "stitch_tiles"]

log = logging.getLogger(__name__)

Predictor = Callable[[torch.Tensor], Mapping[str, "np.ndarray | torch.Tensor"]]
TileProgress = Callable[[int, int], None]


def pad_volume(volume: np.ndarray, plan: TilePlan) -> np.ndarray:
    """Zero-pad the last three axes of ``volume`` as ``plan`` needs (a view if no padding)."""
    pads = plan.padding
    if not any(b or a for b, a in pads):
        return volume
    return np.pad(volume, [(0, 0)] * (volume.ndim - 3) + list(pads))


def _tiles_with_brain(tiles: list[Tile], mask: np.ndarray | None) -> list[Tile]:
    if mask is None:
        return tiles
    return [t for t in tiles if mask[t.source].any()]


def _as_numpy(value) -> np.ndarray:
    """A tile output as an array: integer (decision) outputs keep their dtype, floating
    ones become float32."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.is_floating_point() and value.dtype != torch.float32:
            value = value.float()
        return value.numpy()
    value = np.asarray(value)
    return value if not np.issubdtype(value.dtype, np.floating) else value.astype(np.float32)


def _filled(channels: int, shape: tuple[int, ...], dtype: np.dtype,
            value: np.ndarray | float) -> np.ndarray:
    """A (channels, *shape) array holding ``value`` (a scalar or one value per channel)."""
    array = np.empty((channels, *shape), dtype=dtype)
    array[...] = np.reshape(value, (-1, 1, 1, 1))
    return array


def stitch_tiles(volume: np.ndarray, plan: TilePlan, predict: Predictor,
                 fill: Mapping[str, np.ndarray | float] | None = None,
                 brain: np.ndarray | None = None, batch_size: int = 1,
                 cancel: threading.Event | None = None,
                 progress: TileProgress | None = None) -> dict[str, np.ndarray]:
    """Predict every tile of ``plan`` on ``volume`` (C, z, y, x) and stitch the outputs.

    Args:
        volume: the network input, unpadded; padded here with zeros as the plan says.
        plan: tile positions (:mod:`omnet.inference.tiling`).
        predict: the tile predictor (see the module docstring).
        fill: per output name, the value of voxels no tile predicted (a scalar or one value
            per channel); unnamed outputs fill with 0.
        brain: boolean (z, y, x) mask; tiles whose input holds none of it are skipped.
        batch_size: tiles per predictor call.
        cancel: checked before every batch; when set, :class:`Cancelled` is raised.
        progress: called with (tiles done, tiles to do) after every batch.

    Returns:
        name -> array (C_name, z, y, x) over the unpadded volume: float32 for floating
        outputs, the predictor's dtype for integer ones (e.g. uint8 decisions).
    """
    if tuple(volume.shape[-3:]) != plan.shape:
        raise ValueError(f"volume {volume.shape[-3:]} does not match the plan {plan.shape}")
    padded = pad_volume(volume, plan)
    mask = pad_volume(brain, plan) if brain is not None else None
    todo = _tiles_with_brain(plan.tiles(), mask)
    log.debug("%d of %d tiles of %s hold brain", len(todo), len(plan), plan.tile_shape)
    fill = dict(fill or {})
    outputs: dict[str, np.ndarray] = {}
    batch_size = max(1, int(batch_size))
    for first in range(0, len(todo), batch_size):
        if cancel is not None and cancel.is_set():
            raise Cancelled("stopped by request")
        batch = todo[first:first + batch_size]
        inputs = torch.from_numpy(np.stack([padded[(..., *t.source)] for t in batch]))
        predicted = predict(inputs.float())
        for name, value in predicted.items():
            value = _as_numpy(value)
            target = outputs.get(name)
            if target is None:
                target = outputs[name] = _filled(value.shape[1], plan.shape, value.dtype,
                                                 fill.get(name, 0.0))
            for k, tile in enumerate(batch):
                target[(..., *tile.target)] = value[(k, ..., *tile.keep)]
        if progress is not None:
            progress(first + len(batch), len(todo))
    return outputs


def embed_outputs(outputs: Mapping[str, np.ndarray], region: tuple[slice, slice, slice],
                  shape: tuple[int, ...],
                  fill: Mapping[str, np.ndarray | float] | None = None) -> dict[str, np.ndarray]:
    """Outputs over ``region`` of a volume, put into arrays over the whole ``shape``; the
    rest holds each output's fill value (as in :func:`stitch_tiles`)."""
    if all(s.start == 0 and s.stop == n for s, n in zip(region, shape)):
        return dict(outputs)
    fill = dict(fill or {})
    out = {}
    for name, value in outputs.items():
        full = _filled(value.shape[0], shape, value.dtype, fill.get(name, 0.0))
        full[(slice(None), *region)] = value
        out[name] = full
    return out
