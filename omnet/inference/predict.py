"""The network stage: plan tiles for a mode, run them on a device, stitch the outputs.

``exact`` is the paper's overlap-tile inference (16x32x32 patches, keep the central
5x20x20, CGA/SE summarised over each patch: ``context_window = None``). ``fast`` runs few
large tiles (sizes multiples of 8, sized to the free memory; usually the whole crop in
one) with ``context_window`` set to the training patch (16, 32, 32), evaluated per cell of
``context_step`` voxels (:class:`omnet.model.context.CoarseWindow`), keeping each tile's
interior at least (8, 16, 16) voxels from a seam; tiles holding no brain are skipped in
both modes. Both modes run an inference copy of the network (BatchNorm folded,
``channels_last_3d``, skips freed once used; :mod:`omnet.inference.optimize`), keep freed
feature maps in the process heap on a CPU while they are not too large to fragment it
(:mod:`omnet.inference.heap`), and keep only the fusion's decisions unless probabilities or
attention maps are asked for.
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
from omnet.inference.heap import retained_heap, worth_retaining
from omnet.inference.model_source import ModelSource
from omnet.inference.network import cancel_checks, make_predictor, output_fill, run_with_fallback
from omnet.inference.optimize import inference_copy
from omnet.inference.settings import MODES
from omnet.inference.stitching import embed_outputs, stitch_tiles
from omnet.inference.tiling import (
    PAPER_KEEP,
    PAPER_PATCH,
    TilePlan,
    choose_tile_shape,
    network_region,
    plan_large_tiles,
    plan_overlap_tile,
)
from omnet.model.context import CoarseWindow, Window

__all__ = ["MODES", "NetworkRun", "TilingSettings", "fast_window", "plan_tiles", "predict_crop"]

log = logging.getLogger(__name__)



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
        context_step: fast mode: cell size (z, y, x) on which the context windows are
            summed (each voxel uses the window centred on its cell); None sums one window
            per voxel (slower, for comparison).
        optimise: run an inference copy (BatchNorm folded, ``channels_last_3d`` layout).
        trim: fast mode: run the network only on the brain's bounding box grown to
            multiples of 8 (:func:`omnet.inference.tiling.network_region`), not on the
            whole crop (whose margin and padding to multiples of 8 are background).
    """

    mode: str = "fast"
    tile_voxels: int | None = None
    seam_margin: tuple[int, int, int] = (8, 16, 16)
    patch: tuple[int, int, int] = PAPER_PATCH
    keep: tuple[int, int, int] = PAPER_KEEP
    max_batch: int = 64
    skip_empty: bool = True
    context_step: tuple[int, int, int] | None = (2, 4, 4)
    optimise: bool = True
    trim: bool = True

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
    gpu_peak_mb: float | None = None


def plan_tiles(shape: tuple[int, int, int], budget: int,
               settings: TilingSettings) -> tuple[TilePlan, int]:
    """The tile plan and batch size for ``settings.mode`` under a voxel budget."""
    if settings.mode == "exact":
        batch = max(1, min(settings.max_batch, budget // math.prod(settings.patch)))
        return plan_overlap_tile(shape, settings.patch, settings.keep), batch
    tile = choose_tile_shape(shape, budget, settings.seam_margin)
    return plan_large_tiles(shape, tile, settings.seam_margin), 1


def fast_window(settings: TilingSettings) -> Window | CoarseWindow:
    """Fast mode's context: the patch-sized window, per cell of ``context_step`` voxels."""
    if settings.context_step is None or all(s == 1 for s in settings.context_step):
        return settings.patch
    return CoarseWindow(settings.patch, tuple(settings.context_step))


@contextlib.contextmanager
def _inference_state(module: nn.Module, window: Window | CoarseWindow | None) -> Iterator[None]:
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
                 progress: Callable[[float], None] | None = None,
                 with_probabilities: bool = True) -> NetworkRun:
    """Run the network over ``volume`` (4, z, y, x) and stitch its outputs.

    Outputs: the fusion's decisions ``tumour``, ``refined``, ``enhancing`` (uint8,
    (1, z, y, x); see :func:`omnet.inference.fusion.fuse_decisions`), plus the softmax of
    each task ``task1..3`` (float32) when ``with_probabilities`` and the CGA maps when
    ``with_attention``. On a GPU that runs out of memory the tiles shrink, then the CPU
    takes over (see :func:`omnet.inference.network.run_with_fallback`); ``events`` says
    what happened.
    """
    settings = settings or TilingSettings()
    full_shape = tuple(volume.shape[1:])
    region = tuple(slice(0, n) for n in full_shape)
    if settings.mode == "fast" and settings.trim and brain is not None:
        region = network_region(brain)
        volume, brain = volume[(slice(None), *region)], brain[region]
    shape = tuple(volume.shape[1:])
    window = None if settings.mode == "exact" else fast_window(settings)
    events: list[str] = []

    def attempt(budget: int, dev: torch.device) -> NetworkRun:
        plan, batch = plan_tiles(shape, budget, settings)
        chosen = resolve_precision(dev, precision)
        model.module.to(dev)
        layout = settings.optimise and dev.type in ("cpu", "cuda")
        network = inference_copy(model.module, dev, fold=settings.optimise,
                                 channels_last=layout,
                                 dtype=chosen.dtype if settings.optimise else None)
        log.info("%s mode: %d tiles of %s on %s (%s), batch %d", settings.mode, len(plan),
                 plan.tile_shape, dev.type, chosen.name, batch)
        predictor = make_predictor(network, dev, chosen, with_attention, with_probabilities,
                                   channels_last=layout)

        def on_tiles(done: int, total: int) -> None:
            if progress is not None:
                progress(done / max(total, 1))

        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        value_bytes = 4 if chosen.dtype is None else torch.finfo(chosen.dtype).bits // 8
        map_bytes = math.prod(plan.tile_shape) * batch * model.width * value_bytes
        with _inference_state(network, window), cancel_checks(network, cancel), \
                retained_heap(worth_retaining(dev.type, map_bytes)):
            outputs = stitch_tiles(volume, plan, predictor, output_fill(),
                                   brain if settings.skip_empty else None, batch, cancel,
                                   on_tiles)
        gpu_mb = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None
        outputs = embed_outputs(outputs, region, full_shape, output_fill())
        return NetworkRun(outputs, dev, chosen.name, plan.tile_shape, len(plan), batch, events,
                          gpu_mb)

    budget = settings.tile_voxels or tile_voxel_budget(
        device, model.width, resolve_precision(device, precision).name)
    if isinstance(window, tuple) and not isinstance(window, CoarseWindow):
        budget //= 2  # per-voxel window sums hold several float32 maps of the features
    minimum = math.prod(settings.patch) if settings.mode == "exact" else 48 * 64 * 64
    return run_with_fallback(attempt, budget, device, minimum, events.append)
