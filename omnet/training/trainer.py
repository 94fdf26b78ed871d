"""The training loop: one concatenated batch per iteration, one backbone pass, a
cross-entropy per task; hooks for validation, checkpoints and monitors.

Subclass and override a hook (``make_optimizer``, ``compute_losses``, ``after_step``,
``should_validate``, ``should_checkpoint``) for a variant of the procedure; model variants
and ablations are configuration, not subclasses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from omnet.errors import Cancelled, OMNetError
from omnet.training import checkpoint as ckpt
from omnet.training.augmentation import uses_torchio
from omnet.training.batchnorm import recalibrate_batchnorm
from omnet.training.config import TrainConfig
from omnet.training.distributed import DistInfo, agree, barrier, wrap_model
from omnet.training.losses import crop_margin, task_loss
from omnet.training.monitor import Monitor, TrainRecord, ValidationRecord
from omnet.training.randomness import get_rng_state, iteration_generator, set_rng_state
from omnet.training.runtime import Precision
from omnet.training.sampling import TrainingCase, report_missing_regions, sample_batch
from omnet.training.schedule import Plan, active_tasks, learning_rate, stage_at
from omnet.training.transfer import task_groups, task_target
from omnet.utils.plural import counted

__all__ = ["TrainState", "Trainer", "Validator"]



class TrainingDivergedError(OMNetError):
    """The loss stopped being a finite number."""

log = logging.getLogger(__name__)
#: Validation callable: network -> mean Dice per region over the validation cases.
Validator = Callable[[nn.Module], dict[str, float]]


@dataclass
class TrainState:
    """Progress that a checkpoint carries besides the tensors."""

    iteration: int = 0
    seconds: float = 0.0
    best_score: float = -1.0
    best_iteration: int = 0
    best_dice: dict[str, float] = field(default_factory=dict)
    last_dice: dict[str, float] = field(default_factory=dict)
    #: The validation due after ``iteration`` was stopped before it was recorded: a resumed
    #: run does it first (else its figures would be missing, and the best-network choice).
    validation_pending: bool = False


class Trainer:
    """Trains ``model`` on ``cases`` following ``plan``; rank 0 validates and checkpoints.

    Args:
        config: the full (effective) configuration.
        plan: iterations, stages and learning-rate steps.
        model: the network (not wrapped); its ``forward_groups`` is the training pass.
        cases: training cases (memory-mapped arrays).
        device / precision: where and how to compute.
        checkpoint_dir: folder of ``iter-*.safetensors`` and ``best.safetensors``.
        validator: called with the network in eval mode; None skips validation.
        monitors: sinks receiving every record (rank 0 only).
        dist: rank information; ``stop``: set it to stop at the next iteration boundary
            (a checkpoint is written, then :class:`Cancelled` is raised). A validation it
            cuts short records nothing (``validation_stopped``) and is redone first when the
            run is resumed; once the last iteration is done a stop ends no more than the
            final validation, and :meth:`fit` returns.
    """

    def __init__(self, config: TrainConfig, plan: Plan, model: nn.Module,
                 cases: Sequence[TrainingCase], *, device: torch.device,
                 precision: Precision, checkpoint_dir: Path,
                 validator: Validator | None = None, monitors: Sequence[Monitor] = (),
                 dist: DistInfo | None = None, stop: threading.Event | None = None) -> None:
        self.config, self.plan, self.cases = config, plan, list(cases)
        self.model = model.to(device).train()
        if config.sampling.context == "window":
            from omnet.inference.predict import TilingSettings, fast_window

            self.model.context_window = fast_window(TilingSettings())  # as fast inference
        self.device, self.precision = device, precision
        self.checkpoint_dir = Path(checkpoint_dir)
        self.validator = validator
        self.dist = dist or DistInfo()
        self.monitors = list(monitors) if self.dist.is_main else []
        self.stop = stop or threading.Event()
        self.forward = wrap_model(self.model, self.dist, device)
        self.optimizer = self.make_optimizer()
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision.scale_loss)
        self.state = TrainState()
        self.per_rank = -(-config.sampling.patches_per_task // self.dist.world)
        self.augmenter = None
        if uses_torchio(config.augment):
            from omnet.training.augmentation import TorchioAugmenter

            self.augmenter = TorchioAugmenter(config.augment)
        self._last_checkpoint = time.monotonic()
        #: The last validation was cut short by ``stop`` (its figures are missing).
        self.validation_stopped = False

    # ----- hooks -------------------------------------------------------------------------
    def make_optimizer(self) -> torch.optim.Optimizer:
        o = self.config.optim
        return torch.optim.SGD(self.model.parameters(), lr=o.lr, momentum=o.momentum,
                               weight_decay=o.weight_decay)

    def compute_losses(self, logits: dict[int, torch.Tensor],
                       targets: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
        """Each task's loss (``optim.loss``; weight 1, no class weights) on the loss region
        of its patches (``targets`` are cut to it already)."""
        margin = self.config.sampling.loss_margin
        return {t: task_loss(self.config.optim.loss, crop_margin(logits[t], margin), targets[t])
                for t in logits}

    def after_step(self, record: TrainRecord) -> None:
        for m in self.monitors:
            m.on_train(record)

    def should_validate(self, iteration: int) -> bool:
        every = self.config.run.validate_every or max(1, self.plan.total // 10)
        return self.validator is not None and (iteration % every == 0
                                               or iteration == self.plan.total)

    def draw_batch(self, rng, tasks: Sequence[int], augmenter: Callable | None):
        """One iteration's patches, their classes cut to the loss region (``scored``) and
        the patches each task trains on (online transfer counted on the loss region)."""
        cfg = self.config
        batch = sample_batch(self.cases, tasks, self.per_rank, cfg.sampling.patch_size, rng,
                             cfg.augment, cfg.sampling.task1_tumour_share, augmenter)
        scored = crop_margin(batch.classes, cfg.sampling.loss_margin)
        groups = task_groups(scored, batch.source, tasks, cfg.sampling.transfer,
                             cfg.sampling.transfer_tumour_fraction,
                             cfg.sampling.transfer_core_fraction)
        return batch, scored, groups

    def calibration_batches(self) -> Iterator[tuple[torch.Tensor, dict[int, torch.Tensor]]]:
        """``run.bn_recalibration`` batches drawn as in training at the current stage but
        without TorchIO augmentation (inputs as inference sees them), from a generator of
        their own so the training batches are unchanged."""
        cfg = self.config
        tasks = active_tasks(self.plan, max(0, self.state.iteration - 1))
        for k in range(cfg.run.bn_recalibration):
            rng = iteration_generator(cfg.run.seed + 7919, self.state.iteration * 1000 + k,
                                      self.dist.rank)
            batch, _, groups = self.draw_batch(rng, tasks, augmenter=None)
            yield (torch.from_numpy(batch.images).to(self.device),
                   {t: torch.from_numpy(g).to(self.device) for t, g in groups.items()
                    if len(g)})

    def recalibrate(self) -> None:
        """Re-estimate BatchNorm statistics (``run.bn_recalibration``; 0: nothing)."""
        if self.config.run.bn_recalibration > 0:
            used = recalibrate_batchnorm(self.model, self.calibration_batches(),
                                         lambda model, b: model.forward_groups(*b))
            log.debug("BatchNorm statistics re-estimated over %d batches", used)

    def should_checkpoint(self, iteration: int, late: bool) -> bool:
        """Every ``checkpoint_every`` iterations, at the end, and when ``late`` (the clock)."""
        every = self.config.run.checkpoint_every or max(1, self.plan.total // 20)
        return iteration % every == 0 or iteration == self.plan.total or late

    def _late(self) -> bool:
        minutes = self.config.run.checkpoint_minutes
        return minutes > 0 and time.monotonic() - self._last_checkpoint >= 60 * minutes

    # ----- one iteration -----------------------------------------------------------------
    def train_step(self, iteration: int) -> TrainRecord:
        """Run 0-based iteration ``iteration``; everything random derives from it."""
        start = time.perf_counter()
        cfg = self.config
        rng = iteration_generator(cfg.run.seed, iteration, self.dist.rank)
        tasks = active_tasks(self.plan, iteration)
        batch, scored, groups = self.draw_batch(rng, tasks, self.augmenter)
        x = torch.from_numpy(batch.images).to(self.device, non_blocking=True)
        index = {t: torch.from_numpy(g).to(self.device) for t, g in groups.items() if len(g)}
        targets = {t: torch.from_numpy(task_target(scored[g], t)).to(self.device)
                   for t, g in groups.items() if len(g)}
        lr = learning_rate(self.plan, cfg.optim.lr, iteration)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with self.precision.autocast(self.device):
            logits = self.forward(x, index)
        losses = self.compute_losses(logits, targets)
        total = torch.stack(list(losses.values())).sum()
        if not torch.isfinite(total):
            raise TrainingDivergedError(
                f"training diverged: the loss became {total.item()} at iteration {iteration + 1}; "
                "lower --lr (checkpoints before this point are kept)")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        seconds = time.perf_counter() - start
        patches = len(batch.source) * self.dist.world
        return TrainRecord(iteration=iteration + 1, total=self.plan.total,
                           stage=stage_at(self.plan, iteration),
                           loss={f"task{t}": (float(losses[t].detach()) if t in losses else None)
                                 for t in (1, 2, 3)},
                           lr=lr, patches=patches, patches_per_s=patches / max(seconds, 1e-9),
                           eta_s=0.0, seconds=seconds)

    # ----- the loop ----------------------------------------------------------------------
    def fit(self) -> TrainState:
        """Train from ``state.iteration`` to the end of the plan; return the final state."""
        start = self.state.iteration
        if self.dist.is_main:
            report_missing_regions(self.cases)
        for m in self.monitors:
            m.on_start(start, self.plan.total)
        mean_step = None
        try:
            if self.state.validation_pending:
                log.info("validating after iteration %d again: it was stopped before it was "
                         "recorded", start)
                self.validate()
                self._end_iteration(start, checkpoint=True)
            for iteration in range(start, self.plan.total):
                record = self.train_step(iteration)
                self.state.iteration = iteration + 1
                self.state.seconds += record.seconds
                mean_step = record.seconds if mean_step is None else \
                    0.9 * mean_step + 0.1 * record.seconds
                record.eta_s = mean_step * (self.plan.total - self.state.iteration)
                self.after_step(record)
                done = self.state.iteration
                if done == self.plan.total:
                    self.recalibrate()  # the exported network's statistics fit its weights
                if self.should_validate(done):
                    self.validate()
                self._end_iteration(done)
        finally:
            for m in self.monitors:
                m.close()
        return self.state

    def _end_iteration(self, done: int, checkpoint: bool = False) -> None:
        """Checkpoint when due, asked (``checkpoint``) or stopping; a stop then ends the run
        (:class:`Cancelled`) unless every iteration is done."""
        late, stopping = agree(self.dist, (self._late(), self.stop.is_set()), self.device)
        if checkpoint or self.should_checkpoint(done, late) or stopping:
            self.save_checkpoint()
        if stopping and done == self.plan.total:  # trained: the model is worth exporting
            log.warning("stopped after the last iteration%s", " during the final "
                        "validation" if self.validation_stopped else "")
        elif stopping:
            raise Cancelled(f"training stopped after {counted(done, 'iteration')}; "
                            "continue with --resume")

    def validate(self) -> None:
        """Rank 0 validates and keeps the best network; the other ranks wait."""
        if self.dist.is_main and self.validator is not None:
            for m in self.monitors:
                m.on_validation_start(self.state.iteration, self.plan.total)
            started = time.perf_counter()
            if self.state.iteration != self.plan.total:  # done already at the end
                self.recalibrate()
            self.model.eval()
            self.validation_stopped = False
            try:
                with torch.no_grad():
                    dice = self.validator(self.model)
            except Cancelled:
                self.validation_stopped = self.state.validation_pending = True
                log.warning("validation after iteration %d stopped by request: nothing of it "
                            "is recorded yet (--resume does it again)", self.state.iteration)
                barrier(self.dist)
                return
            finally:
                self.model.train()
            record = ValidationRecord(iteration=self.state.iteration, dice=dice, best=False,
                                      seconds=time.perf_counter() - started)
            self.state.validation_pending = False
            self.state.last_dice = dict(dice)
            if record.score > self.state.best_score:
                record.best = True
                self.state.best_score = record.score
                self.state.best_iteration = record.iteration
                self.state.best_dice = dict(dice)
                ckpt.write_checkpoint(self.checkpoint_dir / "best.safetensors", self.model,
                                      None, self._document(), {})
            for m in self.monitors:
                m.on_validation(record)
        barrier(self.dist)

    # ----- checkpoints -------------------------------------------------------------------
    def _document(self) -> dict[str, Any]:
        rng, _ = get_rng_state()
        return {"iteration": self.state.iteration,
                "stage": stage_at(self.plan, max(0, self.state.iteration - 1)),
                "lr": learning_rate(self.plan, self.config.optim.lr, self.state.iteration),
                "train_state": asdict(self.state), "plan": self.plan.to_dict(),
                "config": self.config.to_dict(), "world_size": self.dist.world,
                "sampler": {"kind": "seeded per iteration", "seed": self.config.run.seed,
                            "next_iteration": self.state.iteration},
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                "rng": rng}

    def save_checkpoint(self) -> None:
        """Rank 0 writes ``iter-<n>.safetensors`` atomically and keeps the last two."""
        if self.dist.is_main:
            _, rng_tensors = get_rng_state()
            path = ckpt.checkpoint_path(self.checkpoint_dir, self.state.iteration)
            ckpt.write_checkpoint(path, self.model, self.optimizer, self._document(),
                                  rng_tensors)
            ckpt.prune_checkpoints(self.checkpoint_dir, keep=2)
            log.debug("checkpoint %s", path.name)
        self._last_checkpoint = time.monotonic()
        barrier(self.dist)

    def resume(self, checkpoint: ckpt.Checkpoint) -> None:
        """Continue from a checkpoint: network, optimiser, scaler, progress, RNG states."""
        ckpt.restore_training_state(checkpoint, self.model, self.optimizer)
        doc = checkpoint.state
        if doc.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(doc["scaler"])
        saved = doc.get("train_state", {})
        self.state = TrainState(**{k: v for k, v in saved.items()
                                   if k in TrainState.__dataclass_fields__})
        self.state.iteration = checkpoint.iteration
        set_rng_state(doc["rng"], checkpoint.rng_tensors)
        if doc.get("world_size", 1) != self.dist.world:
            log.warning("the run used %s process(es), now %d: the patches drawn from here on "
                        "differ from the original run's", doc.get("world_size"), self.dist.world)
        log.info("resuming after iteration %d of %d (stage %d)", self.state.iteration,
                 self.plan.total, stage_at(self.plan, max(0, self.state.iteration - 1)))

