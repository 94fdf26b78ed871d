"""Live training curves from ``METRIC`` lines: loss per task, validation Dice (pure).

Each curve keeps its own (iteration, value) points, so a task that starts later in the
curriculum simply has a shorter curve. :func:`decimate` keeps plots light on long runs.
A resumed run starts from its folder's history (:func:`curves_from_run`); the iterations it
repeats after its last checkpoint replace the old points.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["REGIONS", "TASKS", "TrainingCurves", "curves_from_run", "decimate"]

TASKS = ("task1", "task2", "task3")
REGIONS = ("whole", "core", "enhancing")
TASK_TITLES = {"task1": "loss task 1 (tumour vs. brain)", "task2": "loss task 2 (classes)",
               "task3": "loss task 3 (enhancing)"}
REGION_TITLES = {"whole": "Dice whole tumour", "core": "Dice tumour core",
                 "enhancing": "Dice enhancing tumour"}


def decimate(xs: Sequence[float], ys: Sequence[float], max_points: int
             ) -> tuple[list[float], list[float]]:
    """At most ``max_points`` points: consecutive points averaged in equal-count bins."""
    if max_points < 1:
        raise ValueError("max_points must be >= 1")
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    if len(xs) <= max_points:
        return list(xs), list(ys)
    out_x, out_y = [], []
    for b in range(max_points):
        start, stop = b * len(xs) // max_points, (b + 1) * len(xs) // max_points
        out_x.append(sum(xs[start:stop]) / (stop - start))
        out_y.append(sum(ys[start:stop]) / (stop - start))
    return out_x, out_y


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _forget_from(curve: tuple[list[float], list[float]], iteration: float) -> None:
    """Drop the points at ``iteration`` and later: a resumed run repeats them."""
    xs, ys = curve
    while xs and xs[-1] >= iteration:
        xs.pop()
        ys.pop()


class TrainingCurves:
    """Accumulates METRIC data of one run."""

    def __init__(self) -> None:
        self.loss: dict[str, tuple[list[float], list[float]]] = {t: ([], []) for t in TASKS}
        self.dice: dict[str, tuple[list[float], list[float]]] = {r: ([], []) for r in REGIONS}
        self.latest_train: dict[str, Any] | None = None
        self.best: tuple[int, dict[str, float]] | None = None

    def add(self, metric: Mapping[str, Any]) -> str | None:
        """Record one METRIC object; returns its kind, or None when it is not understood."""
        iteration = _number(metric.get("iteration"))
        if iteration is None:
            return None
        if metric.get("kind") == "train":
            losses = metric.get("loss") if isinstance(metric.get("loss"), Mapping) else {}
            for task in TASKS:
                _forget_from(self.loss[task], iteration)
                value = _number(losses.get(task))
                if value is not None:
                    self.loss[task][0].append(iteration)
                    self.loss[task][1].append(value)
            self.latest_train = dict(metric)
            return "train"
        if metric.get("kind") == "validation":
            dice = metric.get("dice") if isinstance(metric.get("dice"), Mapping) else {}
            values = {r: _number(dice.get(r)) for r in REGIONS}
            for region, value in values.items():
                _forget_from(self.dice[region], iteration)
                if value is not None:
                    self.dice[region][0].append(iteration)
                    self.dice[region][1].append(value)
            if metric.get("best"):
                self.best = (int(iteration), {r: v for r, v in values.items() if v is not None})
            return "validation"
        return None

    def progress(self) -> tuple[float, float | None]:
        """(fraction done, seconds left) from the latest training step."""
        if not self.latest_train:
            return 0.0, None
        total = _number(self.latest_train.get("total"))
        iteration = _number(self.latest_train.get("iteration")) or 0.0
        fraction = min(1.0, iteration / total) if total else 0.0
        return fraction, _number(self.latest_train.get("eta_s"))

    def status_text(self) -> str:
        """One line for the status label: step, losses, speed, best Dice."""
        parts = []
        if self.latest_train:
            step = self.latest_train
            parts.append(f"step {step.get('iteration')}/{step.get('total')}")
            if step.get("stage"):
                parts.append(f"stage {step['stage']}")
            losses = step.get("loss") if isinstance(step.get("loss"), Mapping) else {}
            values = [f"{task[-1]}: {_number(losses.get(task)):.3f}" for task in TASKS
                      if _number(losses.get(task)) is not None]
            if values:
                parts.append("loss " + " ".join(values))
            speed = _number(step.get("patches_per_s"))
            if speed is not None:
                parts.append(f"{speed:.0f} patches/s")
        if self.best:
            iteration, dice = self.best
            parts.append(f"best at {iteration}: " + ", ".join(
                f"{region} {value:.2f}" for region, value in dice.items()))
        return "; ".join(parts)

    def series(self, max_points: int = 400) -> dict[str, tuple[list[float], list[float]]]:
        """Every non-empty curve by its title, decimated for plotting."""
        curves = {}
        for task, (xs, ys) in self.loss.items():
            if xs:
                curves[TASK_TITLES[task]] = decimate(xs, ys, max_points)
        for region, (xs, ys) in self.dice.items():
            if xs:
                curves[REGION_TITLES[region]] = decimate(xs, ys, max_points)
        return curves


def _rows(path: Path) -> Iterator[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)
    except (OSError, csv.Error):
        return


def curves_from_run(run_dir: str | os.PathLike) -> TrainingCurves:
    """The curves a run folder already holds (``metrics.csv``, ``validation.csv``, as
    ``omnet train`` writes them), so a resumed run's plots keep their history; empty when
    the folder has none."""
    curves = TrainingCurves()
    folder = Path(run_dir)
    for row in _rows(folder / "metrics.csv"):
        curves.add({"kind": "train", "iteration": row.get("iteration"),
                    "loss": {task: row.get(f"loss_{task}") for task in TASKS}})
    for row in _rows(folder / "validation.csv"):
        curves.add({"kind": "validation", "iteration": row.get("iteration"),
                    "dice": {region: row.get(f"dice_{region}") for region in REGIONS},
                    "best": row.get("best") == "1"})
    curves.latest_train = None  # progress and speed come from the resumed run's own lines
    return curves
