"""Keep freed feature maps in the process heap while the network runs (glibc only).

glibc serves every allocation above its mmap threshold (at most 32 MB) with a fresh
``mmap`` and unmaps it again on free, so each full-resolution feature map (hundreds of MB
for a whole brain) is faulted in page by page and zero-filled by the kernel, layer after
layer. Measured on a 2-core CPU, a bare bf16 forward pass over a whole brain at paper
width (``benchmarks/benchmark_forward.py --shape 136 184 144 [--no-heap]``): 11.1 s with
fresh mappings, 9.0 s when freed maps are reused. :func:`retained_heap` turns
``mmap`` off and heap trimming off for the duration of a run, then restores glibc's
defaults and hands the freed memory back to the system (``malloc_trim``), so a long-running
host such as Slicer does not keep the peak. Elsewhere (macOS, Windows, musl) it does
nothing. The price is fragmentation: the heap can grow past the live feature maps, the more
so the larger they are, so inference retains it only while one feature map is at most
:data:`RETAIN_MAX_MAP_BYTES` (:func:`worth_retaining`): in the case above bf16 maps are
230 MB; float32 ones (460 MB) gained under 10 % end to end and the process peak grew from
2.4 to 2.9-4.4 GB, over the 4 GB target.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import sys
import threading
from collections.abc import Iterator

__all__ = ["RETAIN_MAX_MAP_BYTES", "retained_heap", "worth_retaining"]

log = logging.getLogger(__name__)

# mallopt parameters (malloc.h) and glibc's defaults for them.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_DEFAULT_TRIM_THRESHOLD = 128 * 1024
_DEFAULT_MMAP_MAX = 65536
_KEEP_EVERYTHING = 2**31 - 1  # mallopt takes an int

#: Largest feature map (bytes) for which :func:`worth_retaining` says yes.
RETAIN_MAX_MAP_BYTES = 256 * 2**20

_lock = threading.Lock()
_depth = 0


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - present in glibc only (not musl)
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _glibc()


@contextlib.contextmanager
def retained_heap(enabled: bool = True) -> Iterator[bool]:
    """Within the block, freed memory stays in the heap for reuse; afterwards glibc's
    defaults are back and free memory is returned. Yields whether it is in effect.
    Nested and concurrent uses are counted: the defaults return with the last one out."""
    global _depth
    if not enabled or _LIBC is None:
        yield False
        return
    with _lock:
        if _depth == 0:
            _LIBC.mallopt(_M_MMAP_MAX, 0)
            _LIBC.mallopt(_M_TRIM_THRESHOLD, _KEEP_EVERYTHING)
        _depth += 1
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _LIBC.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
                _LIBC.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
                _LIBC.malloc_trim(0)
                log.debug("heap retention off, free memory returned")


def worth_retaining(device_type: str, map_bytes: int) -> bool:
    """Whether to run in :func:`retained_heap`: CPU runs whose largest feature map (one
    full-resolution layer of a forward pass) is at most :data:`RETAIN_MAX_MAP_BYTES`."""
    return device_type == "cpu" and map_bytes <= RETAIN_MAX_MAP_BYTES
