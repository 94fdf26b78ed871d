"""The run's plan in iterations: curriculum stages, active tasks and the learning rate.

Everything is a pure function of the iteration number, so a resumed run follows exactly the
schedule of an uninterrupted one and no scheduler object needs saving.

Learning rate: the paper halves it every 4 of 20 epochs (the release: every 80k of 400k
iterations). We express that as a fraction of the run (``lr_halve_every`` = 0.2), so a short
run halves at the same relative points. ``poly`` (nnU-Net's (1 - t/T)^0.9) and ``cosine``
decay to zero at the end of the run; a run extended on resume re-plans from the new length.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from omnet.training.config import TrainConfig

__all__ = ["Plan", "active_tasks", "learning_rate", "make_plan", "stage_at"]


@dataclass(frozen=True)
class Plan:
    """Resolved run length and stage boundaries.

    Attributes:
        total: iterations of the whole run.
        stage_ends: iteration at which stages 1, 2, 3 end (exclusive, cumulative).
        iterations_per_epoch: iterations of one epoch (None when lengths are in iterations
            and no case count was given).
        lr_halve_iterations: the learning rate halves after each this many iterations.
        tasks: tasks the variant trains.
        curriculum: whether stages restrict the tasks.
        lr_schedule: ``step`` (halving), ``poly`` or ``cosine``.
    """

    total: int
    stage_ends: tuple[int, int, int]
    iterations_per_epoch: int | None
    lr_halve_iterations: int
    tasks: tuple[int, ...]
    curriculum: bool
    lr_schedule: str = "step"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_plan(config: TrainConfig, train_cases: int) -> Plan:
    """Turn stage lengths (epochs or iterations) and ``iterations`` into iteration numbers.

    One epoch is ``epoch_patches_per_case * train_cases`` patches per task, i.e. that many
    divided by ``patches_per_task`` iterations (the paper: 400k patches, 20 per iteration).
    """
    sc = config.schedule
    per_epoch = None
    if train_cases > 0:
        per_epoch = max(1, math.ceil(sc.epoch_patches_per_case * train_cases
                                     / config.sampling.patches_per_task))
    scale = 1.0
    if sc.stage_unit == "epochs":
        if per_epoch is None:
            raise ValueError("stage lengths in epochs need the number of training cases")
        scale = float(per_epoch)
    lengths = [x * scale for x in sc.stage_lengths]
    cumulative = [sum(lengths[: k + 1]) for k in range(3)]
    if sc.iterations > 0:
        cumulative = [c * sc.iterations / cumulative[-1] for c in cumulative]
    ends = tuple(round(c) for c in cumulative)
    total = max(1, ends[-1])
    ends = (ends[0], ends[1], total)
    halve = max(1, round(config.optim.lr_halve_every * total))
    return Plan(total=total, stage_ends=ends, iterations_per_epoch=per_epoch,
                lr_halve_iterations=halve, tasks=config.tasks(),
                curriculum=sc.curriculum, lr_schedule=config.optim.lr_schedule)


def stage_at(plan: Plan, iteration: int) -> int:
    """Curriculum stage (1, 2 or 3) of a 0-based iteration; 3 without curriculum."""
    if not plan.curriculum:
        return 3
    for stage, end in enumerate(plan.stage_ends, start=1):
        if iteration < end:
            return stage
    return 3


def active_tasks(plan: Plan, iteration: int) -> tuple[int, ...]:
    """Tasks trained at ``iteration``: the first ``stage`` tasks the variant has."""
    stage = stage_at(plan, iteration)
    return tuple(t for t in plan.tasks if t <= stage)


def learning_rate(plan: Plan, base_lr: float, iteration: int) -> float:
    """The rate of 0-based ``iteration``: step (``base_lr`` halved after every
    ``lr_halve_iterations``), poly ``(1 - t/T)^0.9`` or cosine ``(1 + cos(pi t/T)) / 2``."""
    progress = min(1.0, iteration / plan.total)
    if plan.lr_schedule == "poly":
        return base_lr * (1.0 - progress) ** 0.9
    if plan.lr_schedule == "cosine":
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    return base_lr * 0.5 ** (iteration // plan.lr_halve_iterations)
