"""The network stage: plan tiles for a mode, run them on a device, stitch the outputs.

``exact`` is the paper's overlap-tile inference (16x32x32 patches, keep the central
5x20x20, CGA/SE summarised over each patch: ``context_window = None``). ``fast`` runs few
large tiles (sizes multiples of 8, sized to the free memory) with ``context_window`` set
to the training patch (16, 32, 32), keeping each tile's interior at least (8, 16, 16) voxels
from a seam; tiles holding no brain are skipped in both modes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from omnet.errors import OMNetError
from omnet.inference.device import resolve_precision, tile_voxel_budget
from omnet.inference.model_source import ModelSource
from omnet.inference.network import cancel_checks, make_predictor, output_fill, run_with_fallback
from omnet.inference.stitching import stitch_tiles
from omnet.inference.tiling import (
    PAPER_KEEP,
    PAPER_PATCH,
    TilePlan,
    choose_tile_shape,
    plan_large_tiles,
    plan_overlap_tile,
)

__all__ = ["MODES", "NetworkRun", "TilingSettings", "plan_tiles", "predict_crop"]

log = logging.getLogger(__name__)

MODES = ("fast", "exact")


@dataclass(frozen=True)
class TilingSettings:
    """How the network covers the crop.

    Attributes:
        mode: ``fast`` (large tiles) or ``exact`` (the paper's overlap-tile).
        tile_voxels: voxels per forward pass; None sizes it from the free memory.
        seam_margin: fast mode: voxels discarded on each side of a seam between tiles (at
            least half the context window, so every kept voxel sees a full patch's context).
        patch, keep: exact mode: patch size and its central kept part (= the stride).
        max_batch: exact mode: most patches per forward pass.
        skip_empty: skip tiles whose input holds no brain voxel.
    """

    mode: str = "fast"
    tile_voxels: int | None = None
    seam_margin: tuple[int, int, int] = (8, 16, 16)
    patch: tuple[int, int, int] = PAPER_PATCH
    keep: tuple[int, int, int] = PAPER_KEEP
    max_batch: int = 64
    skip_empty: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise OMNetError(f"unknown mode {self.mode!r}; choose fast or exact")


@dataclass
class NetworkRun:
    """Stitched outputs over the crop and how they were computed."""

    outputs: dict[str, np.ndarray]
    device: torch.device
    precision: str
    tile_shape: tuple[int, int, int]
    tiles: int
    batch_size: int
    events: list[str] = field(default_factory=list)


def plan_tiles(shape: tuple[int, int, int], budget: int,
               settings: TilingSettings) -> tuple[TilePlan, int]:
    """The tile plan and batch size for ``settings.mode`` under a voxel budget."""
    if settings.mode == "exact":
        batch = max(1, min(settings.max_batch, budget // math.prod(settings.patch)))
        return plan_overlap_tile(shape, settings.patch, settings.keep), batch
    tile = choose_tile_shape(shape, budget, settings.seam_margin)
    return plan_large_tiles(shape, tile, settings.seam_margin), 1


@contextlib.contextmanager
def _inference_state(module: nn.Module, window: tuple[int, int, int] | None) -> Iterator[None]:
    """eval() and the context window for the run; the module's own state afterwards."""
    was_training = module.training
    has_window = hasattr(module, "context_window")
    previous = getattr(module, "context_window", None)
    module.eval()
    if has_window:
        module.context_window = window
    try:
        yield
    finally:
        module.train(was_training)
        if has_window:
            module.context_window = previous


def predict_crop(volume: np.ndarray, brain: np.ndarray, model: ModelSource,
                 device: torch.device, precision: str = "auto",
                 settings: TilingSettings | None = None, with_attention: bool = False,
                 cancel: threading.Event | None = None,
                 progress: Callable[[float], None] | None = None) -> NetworkRun:
    """Run the network over ``volume`` (4, z, y, x) and stitch all outputs.

    On a GPU that runs out of memory the tiles shrink, then the CPU takes over (see
    :func:`omnet.inference.network.run_with_fallback`); ``events`` says what happened.
    """
    settings = settings or TilingSettings()
    shape = tuple(volume.shape[1:])
    window = None if settings.mode == "exact" else settings.patch
    events: list[str] = []

    def attempt(budget: int, dev: torch.device) -> NetworkRun:
        plan, batch = plan_tiles(shape, budget, settings)
        chosen = resolve_precision(dev, precision)
        model.module.to(dev)
        log.info("%s mode: %d tiles of %s on %s (%s), batch %d", settings.mode, len(plan),
                 plan.tile_shape, dev.type, chosen.name, batch)
        predictor = make_predictor(model.module, dev, chosen, with_attention)

        def on_tiles(done: int, total: int) -> None:
            if progress is not None:
                progress(done / max(total, 1))

        with _inference_state(model.module, window), cancel_checks(model.module, cancel):
            outputs = stitch_tiles(volume, plan, predictor, output_fill(),
                                   brain if settings.skip_empty else None, batch, cancel,
                                   on_tiles)
        return NetworkRun(outputs, dev, chosen.name, plan.tile_shape, len(plan), batch, events)

    budget = settings.tile_voxels or tile_voxel_budget(device, model.width)
    minimum = math.prod(settings.patch) if settings.mode == "exact" else 48 * 64 * 64
    return run_with_fallback(attempt, budget, device, minimum, events.append)
