"""The run's plan in iterations: curriculum stages, active tasks and the learning rate.

Everything is a pure function of the iteration number, so a resumed run follows exactly the
schedule of an uninterrupted one and no scheduler object needs saving.

Learning rate: the paper halves it every 4 of 20 epochs (the release: every 80k of 400k
iterations). We express that as a fraction of the run (``lr_halve_every`` = 0.2), so a short
run halves at the same relative points. ``poly`` (nnU-Net's (1 - t/T)^0.9) and ``cosine``
decay to zero at the end of the run.

A run resumed with another length is planned anew for it (:func:`resume_plan`), but nothing
goes back: stages it had passed stay passed, and its learning rate never rises above the
rate it had reached (``Plan.lr_ceiling``), so the new schedule takes over once it falls
below that rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from omnet.training.config import TrainConfig

__all__ = ["Plan", "active_tasks", "learning_rate", "make_plan", "resume_plan", "stage_at"]


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
        lr_ceiling: the rate never exceeds this fraction of the initial one (below 1 in a
            run re-planned on resume: the rate it had reached).
    """

    total: int
    stage_ends: tuple[int, int, int]
    iterations_per_epoch: int | None
    lr_halve_iterations: int
    tasks: tuple[int, ...]
    curriculum: bool
    lr_schedule: str = "step"
    lr_ceiling: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """A saved plan (a checkpoint's); fields added since it was saved take defaults."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        return cls(**{**values, "stage_ends": tuple(values["stage_ends"]),
                      "tasks": tuple(values["tasks"])})


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


def resume_plan(fresh: Plan, previous: Plan, done: int) -> Plan:
    """The plan of a run resumed after ``done`` iterations of ``previous``, ``fresh`` being
    the plan for its (perhaps new) length: stages ``previous`` had passed keep their ends,
    the others end where ``fresh`` says but not before ``done``, and the learning rate stays
    at most the rate ``previous`` gave iteration ``done``. An unchanged length keeps
    ``previous`` as it was (an interrupted run goes on exactly as planned)."""
    if fresh.total == previous.total:
        return replace(fresh, stage_ends=previous.stage_ends, lr_ceiling=previous.lr_ceiling)
    first_two = tuple(old if old <= done else max(new, done)
                      for old, new in zip(previous.stage_ends[:2], fresh.stage_ends[:2]))
    return replace(fresh, stage_ends=(*first_two, fresh.total),
                   lr_ceiling=min(fresh.lr_ceiling, learning_rate(previous, 1.0, done)))


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
    ``lr_halve_iterations``), poly ``(1 - t/T)^0.9`` or cosine ``(1 + cos(pi t/T)) / 2``,
    at most ``base_lr * lr_ceiling``."""
    progress = min(1.0, iteration / plan.total)
    if plan.lr_schedule == "poly":
        rate = base_lr * (1.0 - progress) ** 0.9
    elif plan.lr_schedule == "cosine":
        rate = base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        rate = base_lr * 0.5 ** (iteration // plan.lr_halve_iterations)
    return min(rate, base_lr * plan.lr_ceiling)
