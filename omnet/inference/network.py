"""The network as a tile predictor: one forward pass gives all three tasks (and attention).

Also holds what makes a long forward pass safe to run: cancellation checked before every
layer, and the retry with smaller tiles, then on the CPU, when a GPU runs out of memory.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from omnet.errors import Cancelled
from omnet.inference.device import Precision, flush_denormals, is_out_of_memory
from omnet.inference.stitching import Predictor
from omnet.labels import BACKGROUND, NUM_CLASSES, TUMOUR_CLASSES

__all__ = ["ATTENTION_OUTPUTS", "TASK_OUTPUTS", "cancel_checks", "has_attention",
           "make_predictor", "output_fill", "run_with_fallback"]

log = logging.getLogger(__name__)

TASK_OUTPUTS = ("task1", "task2", "task3")
#: Per-voxel attention outputs: CGA guidance maps and the shared features F.
ATTENTION_OUTPUTS = ("cga_tumour_pt", "cga_tumour_pn", "cga_core_pt", "cga_core_pn", "features")
T = TypeVar("T")


def has_attention(model: nn.Module) -> bool:
    """True for the CGA variants (their tasks 2 and 3 are cross-task guided attention)."""
    return getattr(model, "attention", None) is not None


def output_fill() -> dict[str, np.ndarray | float]:
    """Values for voxels no tile predicted: certain background, no guidance, no features."""
    background = np.zeros(NUM_CLASSES, dtype=np.float32)
    background[BACKGROUND] = 1.0
    return {"task1": background, "task2": background,
            "task3": np.array([1.0, 0.0], dtype=np.float32),
            "tumour": 0, "refined": BACKGROUND, "enhancing": 0,
            "cga_tumour_pt": 0.0, "cga_tumour_pn": 1.0, "cga_core_pt": 0.0, "cga_core_pn": 1.0,
            "features": 0.0}


def _argmax_channels(x: torch.Tensor) -> torch.Tensor:
    """``x.argmax(1)`` as uint8 (first maximum on ties) by comparing channel by channel:
    fast whatever the memory layout, where argmax over a channels_last tensor is not."""
    best, index = x[:, 0], torch.zeros(x[:, 0].shape, dtype=torch.uint8, device=x.device)
    for channel in range(1, x.shape[1]):
        value = x[:, channel]
        index.masked_fill_(value > best, channel)
        best = torch.maximum(best, value)
    return index


def _decisions(logits) -> dict[str, torch.Tensor]:
    """:func:`omnet.inference.fusion.task_decisions` from the three tasks' logits.

    The coarse tumour needs task 1's float32 softmax; task 2's most likely class and task
    3's enhancing test are the same on logits as on their softmax (a monotonic map).
    """
    task1, task2, task3 = logits
    p1 = torch.softmax(task1.float(), dim=1)
    return {"tumour": (p1[:, list(TUMOUR_CLASSES)].sum(1) > 0.5).to(torch.uint8),
            "refined": _argmax_channels(task2),
            "enhancing": (task3[:, 1] > task3[:, 0]).to(torch.uint8)}


def make_predictor(model: nn.Module, device: torch.device, precision: Precision,
                   with_attention: bool = False, with_probabilities: bool = True,
                   channels_last: bool = False) -> Predictor:
    """A tile predictor returning the fusion's decisions (uint8 ``tumour``, ``refined``,
    ``enhancing``, each (N, 1, ...)), and if asked the softmax of each task (float32
    ``task1..3``) and the CGA maps.

    Decisions are taken on the device and fusing them equals fusing the probabilities
    (:func:`omnet.inference.fusion.task_decisions`); only they leave the device by default.
    """
    pinned = device.type == "cuda"
    layout = torch.channels_last_3d if channels_last else torch.contiguous_format

    def predict(x: torch.Tensor) -> dict[str, torch.Tensor]:
        if pinned and x.device.type == "cpu":
            x = x.pin_memory().to(device, non_blocking=True)
        x = x.to(device).contiguous(memory_format=layout)
        with torch.inference_mode(), precision.autocast(device), flush_denormals():
            if with_attention:
                logits, attention = model(x, return_attention=True)
            else:
                logits, attention = model(x), None
            out = {name: value[:, None].cpu() for name, value in _decisions(logits).items()}
            if with_probabilities:
                out.update({name: torch.softmax(value.float(), dim=1).cpu()
                            for name, value in zip(TASK_OUTPUTS, logits)})
            del logits
            if attention:
                for module in ("cga_tumour", "cga_core"):
                    for part in ("pt", "pn"):
                        out[f"{module}_{part}"] = attention[module][part].float().cpu()
                out["features"] = attention["features"].float().cpu()
        return out

    return predict


@contextlib.contextmanager
def cancel_checks(model: nn.Module, cancel: threading.Event | None) -> Iterator[None]:
    """Check ``cancel`` before every sub-module's forward, so a stop request ends even a
    long forward pass within about one layer's time."""
    if cancel is None:
        yield
        return

    def check(module: nn.Module, args) -> None:
        if cancel.is_set():
            raise Cancelled("stopped by request")

    handles = [m.register_forward_pre_hook(check) for m in model.modules()
               if not list(m.children())]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _free_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()


def run_with_fallback(attempt: Callable[[int, torch.device], T], budget: int,
                      device: torch.device, min_budget: int,
                      on_event: Callable[[str], None] | None = None) -> T:
    """Call ``attempt(voxel_budget, device)``; on GPU out-of-memory halve the budget and
    retry, and below ``min_budget`` run on the CPU. Each step is logged and reported."""
    while True:
        try:
            return attempt(budget, device)
        except Exception as exc:
            if device.type == "cpu" or not is_out_of_memory(exc):
                raise
            _free_cache(device)
            if budget // 2 >= min_budget:
                message = (f"{device.type} ran out of memory with tiles of {budget} voxels; "
                           f"retrying with {budget // 2}")
                budget //= 2
            else:
                message = f"{device.type} ran out of memory even with small tiles; using the CPU"
                device = torch.device("cpu")
            log.warning(message)
            if on_event is not None:
                on_event(message)
