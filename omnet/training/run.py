"""A whole training run: configuration, data, split, trainer, export (the folder function).

Run folder layout::

    RUN_DIR/config.json       full configuration + resolved plan + data facts
    RUN_DIR/split.json        training and validation case ids
    RUN_DIR/metrics.csv       one row per iteration; validation.csv one per validation
    RUN_DIR/curves.png        loss, learning rate and Dice curves
    RUN_DIR/checkpoints/      iter-<n>.safetensors (last two) and best.safetensors
    RUN_DIR/model.safetensors the exported best network + model.json card
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError

from omnet.card import read_card
from omnet.errors import InputError, ModelConfigError, ModelFileError, OutputError
from omnet.inference.outputs import file_key
from omnet.training import checkpoint as ckpt
from omnet.training.cache import default_cache_dir, open_cached_case
from omnet.training.config import TrainConfig, apply_overrides, config_from_dict, preset_config
from omnet.training.dataset import PreparedDataset, prepare_dataset
from omnet.training.distributed import DistInfo, barrier, init_distributed, shutdown
from omnet.training.export import export_checkpoint
from omnet.training.monitor import BarSink, CsvSink, LinesSink, Monitor, TensorBoardSink
from omnet.training.options import RESUME_OK
from omnet.training.plots import PlotSink
from omnet.training.runtime import resolve_device, resolve_training_precision
from omnet.training.schedule import Plan, learning_rate, make_plan, resume_plan, stage_at
from omnet.training.split import Split, make_split
from omnet.training.trainer import Trainer, TrainState
from omnet.training.validation import Predictor, make_validator, segment_predictor
from omnet.utils.atomic import atomic_write_json, outermost_missing
from omnet.utils.plural import counted
from omnet.utils.progress import make_progress

__all__ = ["TrainingResult", "resolve_config", "train"]

log = logging.getLogger(__name__)
#: What a run writes in its folder besides config.json (see the layout above).
RUN_FILES = ("split.json", "metrics.csv", "validation.csv", "curves.png", "checkpoints",
             "model.safetensors", "model.json", "initialised_from.json", "tensorboard")


@dataclass
class TrainingResult:
    """Where the run and its exported model are, and how far it got."""

    run_dir: Path
    model: Path | None
    iterations: int
    best_dice: dict[str, float]


def resolve_config(run_dir: Path, preset: str | None, overrides: dict[str, dict[str, Any]],
                   resume: bool) -> TrainConfig:
    """The run's configuration: preset + overrides, or on ``resume`` the saved one plus the
    overrides that may change (device, logging, ...); others must equal the saved value."""
    saved_file = Path(run_dir) / "config.json"
    if not resume:
        return apply_overrides(preset_config(preset or "paper"), overrides).validate()
    if not saved_file.is_file():
        raise InputError(f"--resume: {run_dir} holds no training run (no config.json)")
    saved = _saved_config(saved_file)
    if preset and preset != saved.preset:
        raise ModelConfigError(f"--resume: the run used preset {saved.preset!r}, not {preset!r}")
    current = saved.to_dict()
    allowed: dict[str, dict[str, Any]] = {}
    for section, values in overrides.items():
        for name, value in values.items():
            if f"{section}__{name}" in RESUME_OK:
                allowed.setdefault(section, {})[name] = value
            elif current[section][name] != value:
                raise ModelConfigError(f"--resume: {name.replace('_', '-')} cannot change "
                                       f"(the run used {current[section][name]!r})")
    return apply_overrides(saved, allowed).validate()


def _read_run_json(path: Path) -> Any:
    """A JSON file of the run folder; a damaged one is a one-line :class:`InputError`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"--resume: {path} is unreadable ({exc}); restore it or start a new "
                         "run with another --out") from None


def _saved_config(path: Path) -> TrainConfig:
    """The configuration saved in ``config.json`` (a damaged file is one line, not a
    traceback)."""
    data = _read_run_json(path)
    try:
        return config_from_dict(data["config"], validate=False)  # after the overrides
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"--resume: {path} holds no training configuration ({exc!r}); "
                         "restore it or start a new run with another --out") from None


def _monitors(run_dir: Path, config: TrainConfig, progress_format: str) -> list[Monitor]:
    sinks: list[Monitor] = [CsvSink(run_dir), PlotSink(run_dir, config.run.plot_every)]
    if config.run.tensorboard:
        sinks.append(TensorBoardSink(run_dir))
    if progress_format == "lines":
        sinks.append(LinesSink(config.run.log_every))
    elif progress_format == "bar":
        sinks.append(BarSink())
    return sinks


def _split(run_dir: Path, config: TrainConfig, case_ids: list[str], resume: bool) -> Split:
    path = run_dir / "split.json"
    if resume and path.is_file():
        try:
            split = Split.from_dict(_read_run_json(path))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"--resume: {path} holds no split ({exc!r}); restore it or "
                             "start a new run with another --out") from None
        missing = sorted(set(split.train + split.validation) - set(case_ids))
        if missing:
            raise InputError(_split_gone_text(missing, run_dir))
        return split
    return make_split(case_ids, config.data, config.run.seed)


def _split_gone_text(missing: list[str], run_dir: Path) -> str:
    """``--resume``'s line for cases of the saved split the dataset lacks: the first few,
    and the folder the run was trained on (``config.json``), the usual cause being another
    DATA_DIR than the run's."""
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    text = f"--resume: cases of the saved split are gone: {shown}"
    config_path = run_dir / "config.json"
    saved = _read_run_json(config_path).get("data_dir") if config_path.is_file() else None
    return text + (f"; the run was trained on {saved}" if saved else "")


def _check_saved_split_named(run_dir: Path, data_dir: Path) -> None:
    """Refuse, from file names alone and before minutes of pre-processing, a ``--resume``
    whose dataset lacks cases of the run's saved split (another DATA_DIR than the run's)."""
    from omnet.data.discovery import scan_dataset

    path = run_dir / "split.json"
    if not path.is_file():
        return
    try:
        split = Split.from_dict(_read_run_json(path))
    except (KeyError, TypeError, ValueError, AttributeError):
        return  # said in full by _split, after the scan
    scan = scan_dataset(data_dir)
    found = {case.case_id for case in scan.cases} | {case_id for case_id, _ in scan.problems}
    missing = sorted(set(split.train + split.validation) - found)
    if missing:
        raise InputError(_split_gone_text(missing, run_dir))


def train(data_dir: Path, run_dir: Path, config: TrainConfig, *, resume: bool = False,
          cache_dir: Path | None = None, progress_format: str = "bar",
          stop: threading.Event | None = None, predictor: Predictor | None = None,
          dist: DistInfo | None = None) -> TrainingResult:
    """Train on the cases of ``data_dir`` into ``run_dir`` and export the best network.

    Args:
        config: full configuration (see :func:`resolve_config`).
        resume: continue from the newest readable checkpoint in ``run_dir``.
        cache_dir: pre-processing cache (default :func:`default_cache_dir`).
        progress_format: ``bar``, ``lines`` (METRIC/PROGRESS lines) or ``none``.
        stop: set it to end the run at the next iteration with a checkpoint.
        predictor: validation inference (default: ``omnet segment``'s prediction + fusion).
    """
    data_dir, run_dir = Path(data_dir), Path(run_dir)
    config = config.effective().validate()
    if config.run.threads > 0:
        torch.set_num_threads(config.run.threads)
    dist = dist or init_distributed("cuda" if config.run.device in ("auto", "cuda")
                                    and torch.cuda.is_available() else "cpu")
    try:
        return _train(data_dir, run_dir, config, resume, cache_dir, progress_format, stop,
                      predictor, dist)
    finally:
        shutdown(dist)


def _train(data_dir: Path, run_dir: Path, config: TrainConfig, resume: bool,
           cache_dir: Path | None, progress_format: str, stop: threading.Event | None,
           predictor: Predictor | None, dist: DistInfo) -> TrainingResult:
    checkpoints = run_dir / "checkpoints"
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    _check_outside_data(run_dir, data_dir, "the run folder", "an --out")
    _check_outside_data(cache_dir, data_dir, "the pre-processing cache", "a --cache")
    _check_run_folder(run_dir, resume)
    latest = _resume_point(checkpoints) if resume else None
    if latest is not None and _already_done(run_dir, latest, config):
        if dist.is_main:
            log.info("the run in %s is already complete at %d iterations and its model is "
                     "exported: nothing to do; to train it further, resume it with "
                     "--iterations M (more than %d)", run_dir, latest.iteration,
                     latest.iteration)
        best = latest.state.get("train_state", {}).get("best_dice", {})
        return TrainingResult(run_dir=run_dir, model=run_dir / "model.safetensors"
                              if dist.is_main else None, iterations=latest.iteration,
                              best_dice=best)
    # the network first: a bad --init-from is one line before the cache or the run folder
    torch.manual_seed(config.run.seed)
    from omnet.model import build_model

    model = build_model(config.model)
    initial = None
    if config.optim.init_from and not (resume and ckpt.list_checkpoints(checkpoints)):
        initial = _initialise(model, config)
    device = resolve_device(config.run.device, dist.local_rank)
    precision = resolve_training_precision(config.run.precision, device)
    if not resume:  # before minutes of pre-processing
        _check_named_validation(data_dir, config)
    else:
        _check_saved_split_named(run_dir, data_dir)
    dataset = _prepare(data_dir, cache_dir, config, progress_format, dist, stop)
    if not resume:
        _check_validation_usable(config, dataset.problems)
    split = _split(run_dir, config, sorted(dataset.cases), resume)
    if initial:
        initial = _note_seen_validation(initial, split.validation)
    plan = make_plan(config, len(split.train))
    if latest is not None:
        _check_length(plan, latest.iteration)
        plan = _resumed_plan(plan, latest, config.optim.lr)
    log.info("training on %s, validating on %d; %s on %s (%s)", counted(len(split.train), "case"),
             len(split.validation), counted(plan.total, "iteration"), device, precision.name)
    if not split.validation:
        log.warning("no validation case (%d usable): nothing will measure this run's Dice, "
                    "and its model card will have none", len(dataset.cases))
    cases = [open_cached_case(dataset.cases[c]) for c in split.train]
    validator = None  # built on every rank so all agree when to validate; rank 0 runs it
    if split.validation:
        val_cases = [open_cached_case(dataset.cases[c]) for c in split.validation]
        validator = make_validator(val_cases,
                                   predictor or segment_predictor(config.run.val_mode, stop=stop),
                                   config.run.val_max_cases, stop)
    with _stopped_by_failed_io(run_dir), _undone_on_failure(run_dir, not resume and dist.is_main):
        if dist.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
        trainer = Trainer(config, plan, model, cases, device=device, precision=precision,
                          checkpoint_dir=checkpoints, validator=validator,
                          monitors=_monitors(run_dir, config, progress_format) if dist.is_main
                          else (), dist=dist, stop=stop)
        if latest is not None:
            trainer.resume(latest)
        if dist.is_main:  # only once training can start (a failure above writes nothing)
            atomic_write_json(run_dir / "split.json", split.to_dict())
            atomic_write_json(run_dir / "config.json", {
                "config": config.to_dict(), "plan": plan.to_dict(), "data_dir": str(data_dir),
                "cache_dir": str(cache_dir), "device": str(device), "precision": precision.name,
                "world_size": dist.world, "skipped_cases": dataset.problems})
            if initial:
                atomic_write_json(run_dir / "initialised_from.json", initial)
        state = trainer.fit()
    model_path = None
    if dist.is_main:
        with _stopped_by_failed_io(run_dir):
            model_path = _export(run_dir, data_dir, config, split, plan.total, state,
                                 dataset.problems, initial or _saved_initial(run_dir),
                                 trainer.validation_stopped)
    barrier(dist)
    return TrainingResult(run_dir=run_dir, model=model_path, iterations=state.iteration,
                          best_dice=state.best_dice)


def _check_outside_data(folder: Path, data_dir: Path, what: str, option: str) -> None:
    """Refuse a run folder or cache (``what``, set by ``option``) that is the dataset folder
    or inside it: the next scan of the dataset would read it, or the cache's entries, as a
    case (symbolic links are followed; letter case is ignored, as macOS and Windows do)."""
    inner_key, data_key = file_key(folder), file_key(data_dir)
    if inner_key == data_key or data_key in {file_key(p) for p in folder.resolve().parents}:
        where = ("is the dataset folder" if inner_key == data_key
                 else f"is inside the dataset folder {data_dir}")
        raise InputError(f"{what} {folder} {where}, where it would be read as a case; "
                         f"choose {option} outside the dataset")


def _check_run_folder(run_dir: Path, resume: bool) -> None:
    """Refuse a run folder that is a file, or (without ``resume``) one holding a run or
    files of the names a run writes (someone's own metrics.csv would be replaced)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"the run folder {run_dir} is a file, not a folder; choose another "
                         "--out")
    checkpoints = run_dir / "checkpoints"
    if resume:
        return
    if ckpt.list_checkpoints(checkpoints):
        raise InputError(f"{run_dir} already holds a training run; pass --resume to continue "
                         "it or choose another --out")
    if (run_dir / "config.json").exists():
        raise InputError(f"{run_dir} already holds a training run that wrote no checkpoint; "
                         "pass --resume to continue it, or delete it (or choose another --out) "
                         "to start again")
    taken = [name for name in RUN_FILES if (run_dir / name).exists()]
    if taken:
        raise InputError(f"{run_dir} holds {', '.join(taken)} but no training run, and a run "
                         "would write over them; choose another --out (a new or empty folder)")


def _resume_point(checkpoints: Path) -> ckpt.Checkpoint | None:
    """The newest readable checkpoint (None: the run wrote none yet). Checkpoints that are
    all damaged are refused: starting again at iteration 0 would truncate the run's logs."""
    found = ckpt.list_checkpoints(checkpoints)
    latest = ckpt.load_latest(checkpoints)
    if found and latest is None:
        raise InputError(f"--resume: no readable checkpoint in {checkpoints} ({len(found)} "
                         "damaged); restore one, or start a new run with another --out")
    return latest


def _already_done(run_dir: Path, latest: ckpt.Checkpoint, config: TrainConfig) -> bool:
    """Whether resuming would only export the same model again: the exported model's card
    says it ends at the checkpoint's iteration, with this ``--export`` and no other
    ``--iterations``, and no validation there waits to be redone."""
    try:
        card = read_card(run_dir / "model.safetensors")
    except ModelFileError:
        return False
    settings = card.training.get("settings", {})
    asked = config.schedule.iterations
    return (card.training.get("iterations") == latest.iteration
            and asked in (settings.get("schedule", {}).get("iterations"), latest.iteration)
            and settings.get("run", {}).get("export") == config.run.export
            and not latest.state.get("train_state", {}).get("validation_pending"))


def _check_length(plan: Plan, done: int) -> None:
    """A resumed run may be shortened, but not to fewer iterations than it has done."""
    if plan.total < done:
        raise InputError(f"--resume: --iterations {plan.total} is fewer than the {done} "
                         f"iterations already done; give {done} or more")


def _resumed_plan(fresh: Plan, latest: ckpt.Checkpoint, base_lr: float) -> Plan:
    """``fresh`` adjusted so that the run goes on from the checkpoint's stage and learning
    rate (:func:`resume_plan`) rather than going back when its length changed."""
    saved = latest.state.get("plan")
    if not saved:
        return fresh
    plan = resume_plan(fresh, Plan.from_dict(saved), latest.iteration)
    if plan.total != saved["total"]:
        done = latest.iteration
        log.info("re-planned for %d iterations: going on after iteration %d in stage %d at a "
                 "learning rate of at most %.3g", plan.total, done,
                 stage_at(plan, done), learning_rate(plan, base_lr, done))
    return plan


def _check_named_validation(data_dir: Path, config: TrainConfig) -> None:
    """Refuse ``val_cases`` the dataset does not have, from its file names alone."""
    from omnet.data.discovery import scan_dataset
    from omnet.training.split import missing_validation_text

    if not config.data.val_cases:
        return
    scan = scan_dataset(data_dir)
    found = {case.case_id for case in scan.cases} | {case_id for case_id, _ in scan.problems}
    missing = sorted(set(config.data.val_cases) - found)
    if missing:
        raise InputError(missing_validation_text(missing))


def _check_validation_usable(config: TrainConfig, problems: list[tuple[str, str]]) -> None:
    """Refuse ``val_cases`` that the scan left out, with the reason (they are in the dataset,
    so 'not in the dataset' would send the user looking for a typo)."""
    named = set(config.data.val_cases)
    left_out = [f"{case_id} ({reason})" for case_id, reason in problems if case_id in named]
    if left_out:
        raise InputError(f"validation cases left out of the dataset: {'; '.join(left_out)}; "
                         "fix them, or name others with --val-cases CASE ...")


def _prepare(data_dir: Path, cache_dir: Path, config: TrainConfig, progress_format: str,
             dist: DistInfo, stop: threading.Event | None) -> PreparedDataset:
    """Scan and cache the cases: rank 0 builds the cache, then the other ranks reuse it;
    ``stop`` ends it between two cases (:class:`Cancelled`)."""
    progress = make_progress(progress_format if progress_format == "lines" else "none")
    dataset = None
    for turn in ("main", "others"):
        if dist.is_main == (turn == "main"):
            dataset = prepare_dataset(data_dir, cache_dir, config.sampling.tumour_dilation,
                                      progress if dist.is_main else None, config.data.strict,
                                      stop)
        barrier(dist)
    assert dataset is not None
    return dataset


@contextlib.contextmanager
def _undone_on_failure(run_dir: Path, active: bool) -> Iterator[None]:
    """If the block fails before the run's first checkpoint, remove what it wrote into
    ``run_dir`` (the folder too if it made it), so that the corrected command is not refused
    as 'already holds a training run'; what was there before is left alone."""
    if not active:
        yield
        return
    run_dir = run_dir.absolute()
    made = outermost_missing(run_dir)
    before = set() if made else set(run_dir.iterdir())
    try:
        yield
    except BaseException:
        if not ckpt.list_checkpoints(run_dir / "checkpoints"):
            new = [made] if made else sorted(set(run_dir.iterdir()) - before)
            for path in new:
                _remove(path)
            log.info("no checkpoint was written: removed what this run had written in %s",
                     run_dir)
        raise


@contextlib.contextmanager
def _stopped_by_failed_io(run_dir: Path) -> Iterator[None]:
    """A write (or read) of the run that fails, such as a full disk, ends the run in one
    line saying what is kept, instead of a traceback."""
    try:
        yield
    except BrokenPipeError:  # stdout's reader went away: the command line's own case
        raise
    except (OSError, SafetensorError) as exc:
        raise OutputError(_stopped_text(run_dir, exc)) from None


def _stopped_text(run_dir: Path, exc: BaseException) -> str:
    """``training stopped: <file>: <reason>; <what is kept and how to go on>``."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    where = getattr(exc, "filename", None) or run_dir
    kept = ckpt.list_checkpoints(run_dir / "checkpoints")
    if kept:
        future = (f"its last checkpoint {kept[-1].name} is kept: fix that (free space), then "
                  "continue with --resume")
    else:
        future = "it had written no checkpoint, so nothing of it is kept"
    return f"training stopped: {where}: {reason}; {future}"


def _remove(path: Path) -> None:
    """Delete a file, link or folder tree (what is already gone is fine)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _initialise(model: torch.nn.Module, config: TrainConfig) -> dict[str, Any]:
    """Load the ``init_from`` model's weights into ``model``; return what the card records.

    Raises:
        ModelConfigError: the file's network is not this run's variant and width.
    """
    from omnet.bundled import default_model_path
    from omnet.model.ensemble import first_member
    from omnet.model.weights import load_model

    source = config.optim.init_from
    path = default_model_path("cpu") if source == "bundled" else Path(source)
    loaded = load_model(path)
    network = first_member(loaded.model)
    if network.config != config.model:
        raise ModelConfigError(f"--init-from {path.name}: its network is "
                               f"{network.config.variant} width {network.config.width}, "
                               f"not this run's {config.model.variant} width "
                               f"{config.model.width}")
    model.load_state_dict(network.state_dict())
    if network is not loaded.model:
        log.info("%s is an ensemble of %d networks; fine-tuning starts from its first",
                 path.name, loaded.card.model.members)
    log.info("initialised from %s (%s)", path, loaded.card.name)
    record = {"name": loaded.card.name, "file": path.name, "file_sha256": loaded.file_sha256,
              "tensors_sha256": loaded.card.tensors_sha256,
              "train_cases": loaded.card.training.get("data", {}).get("train_cases", [])}
    if "member_of" in loaded.card.training:   # a member taken out of an ensemble
        record["member_of"] = loaded.card.training["member_of"]
    return record


def _note_seen_validation(initial: dict[str, Any], validation: list[str]) -> dict[str, Any]:
    """Warn, and record for the card, when the ``init_from`` model trained on cases this
    run validates on: its validation Dice is then not a figure on unseen cases."""
    seen = sorted(set(initial.get("train_cases") or ()) & set(validation))
    if not seen:
        return initial
    log.warning("--init-from %s trained on %d of this run's %d validation cases (%s): the "
                "validation Dice is not a figure on unseen cases", initial.get("file"),
                len(seen), len(validation), ", ".join(seen[:5]) + (" ..." if len(seen) > 5
                                                                   else ""))
    return {**initial, "validation_cases_seen": seen}


def _saved_initial(run_dir: Path) -> dict[str, Any] | None:
    """The initialisation recorded by the run's first sitting (resumed runs)."""
    path = run_dir / "initialised_from.json"
    return _read_run_json(path) if path.is_file() else None


def _export(run_dir: Path, data_dir: Path, config: TrainConfig, split: Split, total: int,
            state: TrainState, skipped: list[tuple[str, str]],
            initial: dict[str, Any] | None = None, validation_stopped: bool = False) -> Path:
    """The best validated network (else the last) as ``model.safetensors`` + card.

    With ``--export last`` the final network is exported whatever validation said, so the
    validation cases stay an unbiased test set. A final validation stopped by the user
    (``validation_stopped``) is said in the card and the log: its figures are missing.
    """
    best = run_dir / "checkpoints" / "best.safetensors"
    last = ckpt.checkpoint_path(run_dir / "checkpoints", total)
    source = best if config.run.export == "best" and best.is_file() else last
    data = {"folder": str(data_dir), "train_cases": split.train,
            "validation_cases": split.validation, "split": split.method, "seed": split.seed,
            "skipped_cases": [c for c, _ in skipped]}
    training = {"data": data, "settings": config.to_dict(), "iterations": total,
                "seconds": round(state.seconds, 1), "preset": config.preset}
    if initial:
        training["initialised_from"] = initial
    metrics = {}
    if state.best_dice:
        measured = len(split.validation)
        if config.run.val_max_cases:
            measured = min(measured, config.run.val_max_cases)
        metrics = {"validation_dice": state.best_dice, "validation_iteration":
                   state.best_iteration, "validation_cases": measured,
                   "exported": "best" if source == best else "last",
                   "validation_mode": config.run.val_mode, "postprocessing": False}
    note = ""
    if validation_stopped:
        training["final_validation"] = "stopped by the user: not measured"
        earlier = (f"the figures are those of iteration {state.best_iteration}"
                   if state.best_dice else "no validation figures")
        note = f"Its final validation was stopped by the user: {earlier}."
        log.warning("the final validation was stopped: the model is exported without its "
                    "figures (%s)", "the network of the best earlier validation"
                    if source == best else "the last network")
    destination = run_dir / "model.safetensors"
    card = export_checkpoint(source, config, destination, training, metrics,
                             name=f"{config.model.variant}-w{config.model.width}-{run_dir.name}",
                             note=note)
    log.info("exported %s (%s)", destination, card.description)
    return destination
