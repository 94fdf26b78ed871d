"""Random streams derived from (seed, iteration, rank), and the global RNG states.

Each iteration re-seeds its own generators from those three numbers, so the patches, the
augmentation and the dropout masks of iteration i are the same whether the run went
through in one go or was killed and resumed. The global states are still saved in every
checkpoint (as JSON and a tensor, never pickled) and restored on resume.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = ["get_rng_state", "iteration_generator", "set_rng_state"]


def iteration_generator(seed: int, iteration: int, rank: int = 0) -> np.random.Generator:
    """A numpy generator for one iteration of one rank; also seeds torch (dropout) from it."""
    sequence = np.random.SeedSequence([int(seed), int(iteration), int(rank)])
    torch_seed = int(sequence.generate_state(2, dtype=np.uint32).astype(np.uint64)
                     .dot(np.array([1, 1 << 32], dtype=np.uint64)))
    torch.manual_seed(torch_seed & ((1 << 63) - 1))
    return np.random.Generator(np.random.PCG64(sequence))


def get_rng_state() -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Python and numpy global states as JSON data; torch (and CUDA) states as tensors."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    data = {"python": [version, list(internal), gauss],
            "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]}
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    return data, tensors


def set_rng_state(data: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    """Restore what :func:`get_rng_state` returned (CUDA states only where devices match)."""
    version, internal, gauss = data["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = data["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"].to(torch.uint8))
    cuda = sorted(k for k in tensors if k.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([tensors[k].to(torch.uint8) for k in cuda])
