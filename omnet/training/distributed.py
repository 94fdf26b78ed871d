"""Several processes with DistributedDataParallel (launched by ``torchrun``), or just one.

``torchrun --nproc_per_node=G -m omnet train ...`` sets RANK / WORLD_SIZE / LOCAL_RANK;
each rank draws its own patches (its generator is seeded with its rank) and DDP averages the
gradients. Rank 0 alone logs, validates, checkpoints and exports; the others wait at a
barrier meanwhile.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistInfo", "GroupForward", "agree", "barrier", "init_distributed", "shutdown",
           "wrap_model"]


@dataclass(frozen=True)
class DistInfo:
    """This process's rank, the number of processes and its local rank (GPU index)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_kind: str, timeout_minutes: float = 60.0) -> DistInfo:
    """Join the process group when started by torchrun (WORLD_SIZE > 1); NCCL on CUDA,
    gloo elsewhere. A single process gets a trivial :class:`DistInfo`."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        dist.init_process_group(backend=backend,
                                timeout=datetime.timedelta(minutes=timeout_minutes))
    return DistInfo(rank=dist.get_rank(), world=dist.get_world_size(),
                    local_rank=int(os.environ.get("LOCAL_RANK", "0")))


class GroupForward(nn.Module):
    """Exposes ``model.forward_groups`` as ``forward`` so DDP can wrap the training pass."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, groups: dict[int, torch.Tensor]):
        return self.model.forward_groups(x, groups)


def wrap_model(model: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    """The module the trainer calls: DDP around :class:`GroupForward` when distributed.

    ``find_unused_parameters`` is on because task heads sit idle in early curriculum stages
    and CGA guidance runs without gradients.
    """
    forward = GroupForward(model)
    if not info.enabled:
        return forward
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(forward, device_ids=ids,
                                               find_unused_parameters=True)


def agree(info: DistInfo, flags: tuple[bool, ...], device: torch.device) -> tuple[bool, ...]:
    """Flags that are true on any rank, so that every rank takes the same decision (a
    checkpoint due by the clock, a stop request) and none waits at a barrier alone."""
    if not info.enabled:
        return flags
    values = torch.tensor([int(f) for f in flags], dtype=torch.int32, device=device)
    dist.all_reduce(values, op=dist.ReduceOp.MAX)
    return tuple(bool(v) for v in values.tolist())


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
