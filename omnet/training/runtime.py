"""Device and numeric precision of a training run."""

from __future__ import annotations

import torch

from omnet.errors import ModelConfigError
from omnet.inference.device import Precision

__all__ = ["Precision", "resolve_device", "resolve_training_precision"]


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto``: CUDA if available, else Apple MPS, else CPU; refuse an absent device."""
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ModelConfigError("--device cuda: no CUDA device is available")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if name == "mps" and not (getattr(torch.backends, "mps", None)
                              and torch.backends.mps.is_available()):
        raise ModelConfigError("--device mps: Apple MPS is not available")
    return torch.device(name)


def resolve_training_precision(name: str, device: torch.device) -> Precision:
    """``auto``: float16 autocast with loss scaling on CUDA, float32 elsewhere; ``bfloat16``
    autocast where the device supports it (CPU included), no scaling needed."""
    if name == "auto":
        name = "float16" if device.type == "cuda" else "float32"
    if name == "float32":
        return Precision(None, False)
    if name == "float16":
        if device.type != "cuda":
            raise ModelConfigError("--precision float16 needs CUDA; use bfloat16 or float32")
        return Precision(torch.float16, True)
    if name == "bfloat16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ModelConfigError("this GPU does not support bfloat16")
        return Precision(torch.bfloat16, False)
    raise ModelConfigError(f"unknown precision {name!r}")
