"""``curves.png``: loss per task, learning rate and validation Dice, redrawn as the run goes."""

from __future__ import annotations

import logging
from pathlib import Path

from omnet.training.monitor import TASK_KEYS, Monitor, TrainRecord, ValidationRecord, read_csv
from omnet.utils.atomic import atomic_path

__all__ = ["PlotSink", "draw_curves"]

log = logging.getLogger(__name__)


def _smooth(values: list[float], window: int) -> list[float]:
    """Trailing moving average, so noisy per-step losses stay readable."""
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def draw_curves(path: Path, train: dict[str, list[tuple[int, float]]],
                lr: list[tuple[int, float]], dice: dict[str, list[tuple[int, float]]]) -> None:
    """Draw the three panels and write ``path`` atomically (a bare Figure renders with Agg
    and leaves pyplot's global backend alone)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.6), dpi=90)
    ax_loss, ax_lr, ax_dice = fig.subplots(1, 3)
    for key, points in train.items():
        if points:
            xs, ys = zip(*points)
            ax_loss.plot(xs, _smooth(list(ys), max(1, len(ys) // 50)), label=key, lw=1)
    ax_loss.set(title="training loss (smoothed)", xlabel="iteration", yscale="log")
    if lr:
        xs, ys = zip(*lr)
        ax_lr.plot(xs, ys, color="k", lw=1)
    ax_lr.set(title="learning rate", xlabel="iteration", yscale="log")
    for key, points in dice.items():
        if points:
            xs, ys = zip(*points)
            ax_dice.plot(xs, ys, marker="o", label=key, lw=1)
    ax_dice.set(title="validation Dice", xlabel="iteration", ylim=(0, 1))
    for ax in (ax_loss, ax_dice):
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


class PlotSink(Monitor):
    """Keeps the curves in memory (re-read from the CSVs on resume) and redraws the PNG
    every ``every`` iterations, after each validation and at the end."""

    def __init__(self, run_dir: Path, every: int = 100) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / "curves.png"
        self.every = max(1, every)
        self.train: dict[str, list[tuple[int, float]]] = {k: [] for k in TASK_KEYS}
        self.lr: list[tuple[int, float]] = []
        self.dice: dict[str, list[tuple[int, float]]] = {}

    def on_start(self, iteration: int, total: int) -> None:
        for row in read_csv(self.run_dir / "metrics.csv"):
            i = int(row["iteration"])
            if i > iteration:
                continue
            for k in TASK_KEYS:
                if row.get(f"loss_{k}"):
                    self.train[k].append((i, float(row[f"loss_{k}"])))
            self.lr.append((i, float(row["lr"])))
        for row in read_csv(self.run_dir / "validation.csv"):
            if int(row["iteration"]) <= iteration:
                for k in ("whole", "core", "enhancing"):
                    if row.get(f"dice_{k}"):
                        self.dice.setdefault(k, []).append((int(row["iteration"]),
                                                            float(row[f"dice_{k}"])))

    def on_train(self, r: TrainRecord) -> None:
        for k, v in r.loss.items():
            if v is not None:
                self.train[k].append((r.iteration, v))
        self.lr.append((r.iteration, r.lr))
        if r.iteration % self.every == 0:
            self.redraw()

    def on_validation(self, r: ValidationRecord) -> None:
        """One point per iteration: a validation a resume redoes (the run that did it was
        killed before its checkpoint) replaces the point read back from validation.csv."""
        for k, v in r.dice.items():
            points = [p for p in self.dice.get(k, []) if p[0] != r.iteration]
            self.dice[k] = [*points, (r.iteration, v)]
        self.redraw()

    def redraw(self) -> None:
        try:
            draw_curves(self.path, self.train, self.lr, self.dice)
        except ImportError:
            log.info("matplotlib is not installed; no curves.png")
            self.every = 1 << 62

    def close(self) -> None:
        self.redraw()
