"""Where and in which precision the network runs, and how much it may hold at once."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from omnet.errors import OMNetError
from omnet.inference.settings import DEVICES, PRECISIONS

__all__ = ["FLUSHES_DENORMALS", "Precision", "bytes_per_voxel", "cpu_supports_bf16",
           "flush_denormals", "is_out_of_memory", "resolve_precision", "select_device",
           "tile_voxel_budget"]

log = logging.getLogger(__name__)



def _start_workers_flushing() -> bool:
    """Start torch's CPU worker threads with denormals flushed, then restore this thread.

    Activations that decay towards zero (far from any structure, in padding) become denormal
    floats, which x86 CPUs handle dozens of times slower: one HD-BET pass over a crop of a
    raw scanner series took 88 s with them and 2 s without. Their values are below 1e-38, so
    flushing them changes no decision. The mode is per thread, and worker threads copy it
    from the thread that starts them, so the pool is started here, on import, inside the
    mode; the calling thread gets it only inside :func:`flush_denormals`, so the rest of the
    process (scipy's KD-tree crashed under it) keeps IEEE arithmetic. Where another library
    started the pool before this import, only the calling thread is flushed.
    """
    for dtype in (np.float16, np.float32, np.float64):
        np.finfo(dtype)   # cached while denormals exist, so numpy does not warn later
    supported = torch.set_flush_denormal(True)
    try:
        torch.ones(1 << 17).mul_(2.0)   # one parallel operation starts the pool
    finally:
        torch.set_flush_denormal(False)
    return supported


FLUSHES_DENORMALS = _start_workers_flushing()


@contextlib.contextmanager
def flush_denormals():
    """Denormals flushed on the calling thread for the block (network passes only)."""
    supported = torch.set_flush_denormal(True)
    try:
        yield supported
    finally:
        torch.set_flush_denormal(False)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(name: str = "auto") -> torch.device:
    """``auto`` prefers CUDA, then Apple MPS, then the CPU; an explicit device must exist."""
    if name not in DEVICES:
        raise OMNetError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise OMNetError("--device cuda was asked for, but PyTorch sees no CUDA GPU "
                         "(use --device auto or cpu)")
    if name == "mps" and not _mps_available():
        raise OMNetError("--device mps was asked for, but Apple MPS is not available "
                         "(use --device auto or cpu)")
    return torch.device(name)


def cpu_supports_bf16() -> bool:
    """True where the CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@dataclass(frozen=True)
class Precision:
    """The autocast dtype for a device (None: plain float32), and whether training must scale
    its loss (float16 gradients underflow); inference and training share it."""

    dtype: torch.dtype | None
    scale_loss: bool = False

    @property
    def name(self) -> str:
        return "float32" if self.dtype is None else str(self.dtype).removeprefix("torch.")

    def autocast(self, device: torch.device):
        """A context manager running the network in this precision on ``device``."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.dtype)


def resolve_precision(device: torch.device, precision: str = "auto") -> Precision:
    """``float32``: always full precision. ``auto``: mixed precision on CUDA (bfloat16 where
    supported, else float16), bfloat16 on CPUs with native support, float32 otherwise."""
    if precision not in PRECISIONS:
        raise OMNetError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "float32":
        return Precision(None)
    if device.type == "cuda":
        return Precision(torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    if device.type == "cpu" and cpu_supports_bf16():
        return Precision(torch.bfloat16)
    return Precision(None)


def is_out_of_memory(exc: BaseException) -> bool:
    """A GPU (or MPS) allocation failure that a smaller tile might avoid."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _available_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


#: Peak working memory of one forward pass per input voxel and unit of width, in bytes,
#: measured for the inference copy (BatchNorm folded, coarse context sums, decisions only)
#: plus headroom: float32 activations take twice the 16-bit ones.
_BYTES_PER_VOXEL_WIDTH = {"float32": 48.0, "half": 26.0}
_FIXED_BYTES_PER_VOXEL = 120.0


def bytes_per_voxel(width: int, precision: str = "float32") -> float:
    """Planned peak memory of a forward pass per input voxel (see the table above)."""
    key = "float32" if precision == "float32" else "half"
    return _FIXED_BYTES_PER_VOXEL + _BYTES_PER_VOXEL_WIDTH[key] * width


#: Upper bounds per device: one tile over a whole cropped brain (about 4.5 M voxels) is the
#: fastest; the GPU default keeps the pass under 7 GB (cards of 8 GB).
_MAX_VOXELS = {"cpu": 6_000_000, "cuda": 8_000_000, "mps": 2_000_000}
_MAX_BYTES = {"cuda": 7 << 30}


def tile_voxel_budget(device: torch.device, width: int, precision: str = "float32",
                      fraction: float = 0.5) -> int:
    """Voxels one forward pass may take: a ``fraction`` of the free memory (on CUDA also at
    most 7 GB), capped per device."""
    available = fraction * _available_bytes(device)
    available = min(available, _MAX_BYTES.get(device.type, available))
    budget = int(available / bytes_per_voxel(width, precision))
    cap = _MAX_VOXELS.get(device.type, 1_000_000)
    return max(16 * 32 * 32, min(cap, budget))
