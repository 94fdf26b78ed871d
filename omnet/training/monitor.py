"""What a run reports as it goes: per-step records and the sinks that show or store them.

Sinks: ``metrics.csv`` / ``validation.csv`` (every step / every validation), METRIC and
PROGRESS lines for the Slicer module, a tqdm bar for people, TensorBoard when installed.
The curves PNG lives in :mod:`omnet.training.plots`.
"""

from __future__ import annotations

import csv
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from omnet.protocol import format_metric, format_progress
from omnet.utils.atomic import atomic_write_text

__all__ = ["BarSink", "CsvSink", "LinesSink", "Monitor", "TensorBoardSink", "TrainRecord",
           "ValidationRecord", "read_csv"]

log = logging.getLogger(__name__)
TASK_KEYS = ("task1", "task2", "task3")


@dataclass
class TrainRecord:
    """One finished iteration (``iteration`` counts finished iterations, 1-based)."""

    iteration: int
    total: int
    stage: int
    loss: dict[str, float | None]
    lr: float
    patches: int
    patches_per_s: float
    eta_s: float
    seconds: float

    def metric(self) -> dict[str, Any]:
        return {"kind": "train", "iteration": self.iteration, "total": self.total,
                "stage": self.stage,
                "loss": {k: (None if v is None else round(v, 6)) for k, v in self.loss.items()},
                "lr": self.lr,
                "patches_per_s": round(self.patches_per_s, 3), "eta_s": round(self.eta_s, 1)}


@dataclass
class ValidationRecord:
    """Dice per region after ``iteration`` iterations; ``best`` if it beat every earlier one."""

    iteration: int
    dice: dict[str, float]
    best: bool
    seconds: float

    @property
    def score(self) -> float:
        return sum(self.dice.values()) / max(1, len(self.dice))

    def metric(self) -> dict[str, Any]:
        return {"kind": "validation", "iteration": self.iteration,
                "dice": {k: round(v, 5) for k, v in self.dice.items()}, "best": self.best}


class Monitor:
    """Base sink: every hook does nothing; sinks override what they need."""

    def on_start(self, iteration: int, total: int) -> None:
        return None

    def on_train(self, record: TrainRecord) -> None:
        return None

    def on_validation_start(self, iteration: int, total: int) -> None:
        return None

    def on_validation(self, record: ValidationRecord) -> None:
        return None

    def close(self) -> None:
        return None


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _row_iteration(row: dict[str, str]) -> int:
    return int(float(row["iteration"]))


def _keep_rows(path: Path, columns: list[str], keep: Callable[[int], bool]) -> set[int]:
    """Rewrite ``path`` with the rows whose iteration ``keep`` accepts; their iterations."""
    rows = [r for r in read_csv(path) if keep(_row_iteration(r))]
    lines = [",".join(columns)] + [",".join(r.get(c, "") for c in columns) for r in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return {_row_iteration(r) for r in rows}


class CsvSink(Monitor):
    """``metrics.csv`` (one row per iteration) and ``validation.csv`` in the run folder."""

    TRAIN: ClassVar[list[str]] = [
        "iteration", "stage", "lr", "loss_task1", "loss_task2", "loss_task3", "loss_total",
        "patches", "patches_per_s", "seconds"]
    VALID: ClassVar[list[str]] = [
        "iteration", "dice_whole", "dice_core", "dice_enhancing", "dice_mean", "best", "seconds"]

    def __init__(self, run_dir: Path) -> None:
        self.train_path = Path(run_dir) / "metrics.csv"
        self.valid_path = Path(run_dir) / "validation.csv"
        self._files: dict[str, Any] = {}
        self._validated: set[int] = set()  # iterations validation.csv holds from earlier runs

    def on_start(self, iteration: int, total: int) -> None:
        """Drop the rows logged after ``iteration`` (a resumed run redoes them) and open
        both files to append."""
        for path, columns in ((self.train_path, self.TRAIN), (self.valid_path, self.VALID)):
            kept = _keep_rows(path, columns, lambda logged: logged <= iteration)
            if path == self.valid_path:
                self._validated = kept
            self._open(path)

    def _open(self, path: Path) -> None:
        self._files[path.name] = open(  # noqa: SIM115 - open for the whole run
            path, "a", encoding="utf-8", newline="")

    def _write(self, name: str, values: list[Any]) -> None:
        f = self._files[name]
        f.write(",".join("" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))
                         for v in values) + "\n")
        f.flush()

    def on_train(self, r: TrainRecord) -> None:
        losses = [r.loss.get(k) for k in TASK_KEYS]
        total = sum(v for v in losses if v is not None)
        self._write(self.train_path.name, [r.iteration, r.stage, r.lr, *losses, total,
                                           r.patches, r.patches_per_s, r.seconds])

    def on_validation(self, r: ValidationRecord) -> None:
        """One row per iteration: a validation that an earlier run recorded (a resume redid
        it, and was stopped before its checkpoint said so) replaces that run's row."""
        if r.iteration in self._validated:
            self._files.pop(self.valid_path.name).close()
            self._validated = _keep_rows(self.valid_path, self.VALID,
                                         lambda logged: logged != r.iteration)
            self._open(self.valid_path)
        d = r.dice
        self._write(self.valid_path.name, [r.iteration, d.get("whole"), d.get("core"),
                                           d.get("enhancing"), r.score, int(r.best), r.seconds])

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()


class LinesSink(Monitor):
    """METRIC and PROGRESS lines on stdout (``--progress-format lines``)."""

    def __init__(self, every: int = 10, stream=None) -> None:
        self.every = max(1, every)
        self.stream = stream or sys.stdout

    def _emit(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def on_train(self, r: TrainRecord) -> None:
        if r.iteration % self.every == 0 or r.iteration == r.total:
            self._emit(format_metric(r.metric()))
            self._emit(format_progress(r.iteration / r.total,
                                       f"training stage {r.stage} iteration {r.iteration}"))

    def on_validation_start(self, iteration: int, total: int) -> None:
        self._emit(format_progress(iteration / total, f"validating after iteration {iteration}"))

    def on_validation(self, r: ValidationRecord) -> None:
        self._emit(format_metric(r.metric()))


class BarSink(Monitor):
    """A tqdm bar on stderr: iterations, ETA, loss per task and patches/s."""

    def __init__(self) -> None:
        self._bar = None

    def on_start(self, iteration: int, total: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, initial=iteration, desc="training", unit="it",
                         file=sys.stderr, dynamic_ncols=True)

    def on_train(self, r: TrainRecord) -> None:
        if self._bar is None:
            return
        post = {k.replace("task", "t"): f"{v:.3f}" for k, v in r.loss.items() if v is not None}
        post["p/s"] = f"{r.patches_per_s:.1f}"
        post["stage"] = str(r.stage)
        self._bar.set_postfix(post, refresh=False)
        self._bar.update(r.iteration - self._bar.n)

    def on_validation(self, r: ValidationRecord) -> None:
        if self._bar is not None:
            dice = " ".join(f"{k} {v:.3f}" for k, v in r.dice.items())
            self._bar.write(f"validation after {r.iteration} iterations: Dice {dice}"
                            f"{' (best)' if r.best else ''}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class TensorBoardSink(Monitor):
    """Scalars for TensorBoard in ``<run>/tensorboard`` (a no-op without tensorboard)."""

    def __init__(self, run_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.info("tensorboard is not installed; no TensorBoard logs")
            self._writer = None
            return
        self._writer = SummaryWriter(str(Path(run_dir) / "tensorboard"))

    def on_train(self, r: TrainRecord) -> None:
        if self._writer is None:
            return
        for k, v in r.loss.items():
            if v is not None:
                self._writer.add_scalar(f"loss/{k}", v, r.iteration)
        self._writer.add_scalar("lr", r.lr, r.iteration)
        self._writer.add_scalar("patches_per_s", r.patches_per_s, r.iteration)

    def on_validation(self, r: ValidationRecord) -> None:
        if self._writer is not None:
            for k, v in r.dice.items():
                self._writer.add_scalar(f"dice/{k}", v, r.iteration)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
