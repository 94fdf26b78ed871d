"""Training settings as typed dataclasses, the two presets, and (de)serialisation (torch-free).

The dataclass defaults are the paper's settings (``--preset paper``); ``--preset quick`` is
a short CPU run. The command line is generated from these fields in
:mod:`omnet.training.options`, and the full configuration is saved with every run.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from omnet.errors import ModelConfigError
from omnet.registry import ModelConfig

__all__ = ["PRESETS", "VALIDATION_CASES", "AugmentSettings", "DataSettings", "OptimSettings",
           "Range", "RunSettings", "SamplingSettings", "ScheduleSettings", "TrainConfig",
           "apply_overrides", "config_from_dict", "preset_config"]


@dataclass(frozen=True)
class Range:
    """The values a number setting may take: bounds ``low``/``high`` (None: unbounded),
    each inclusive unless ``open_low``/``open_high``; checked by the CLI and by validate()."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>' if self.open_low else '>='} {self.low:g}"
        return (f"in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}"
                f"{')' if self.open_high else ']'}")

    def admits(self, value: float) -> bool:
        """Whether ``value`` lies within the bounds."""
        low_ok = self.low is None or (value > self.low if self.open_low else value >= self.low)
        high_ok = self.high is None or (value < self.high if self.open_high
                                        else value <= self.high)
        return low_ok and high_ok


#: The ranges the settings use.
AT_LEAST_0, AT_LEAST_1 = Range(0), Range(1)
ABOVE_0 = Range(0, open_low=True)
PROBABILITY, FRACTION_BELOW_1 = Range(0, 1), Range(0, 1, open_high=True)


def _opt(default: Any, help: str, **extra: Any) -> Any:
    """A dataclass field with CLI help (and optional ``choices`` / ``resume_ok`` /
    ``range``, a :class:`Range` its number must lie in)."""
    factory = (lambda: copy.copy(default)) if isinstance(default, (list, dict)) else None
    meta = {"help": help, **extra}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DataSettings:
    """Which cases train and which validate."""

    val_fraction: float = _opt(0.1, "fraction of the cases held out for validation",
                               range=FRACTION_BELOW_1)
    folds: int = _opt(0, "number of cross-validation folds (0: a random split by val-fraction)",
                      range=AT_LEAST_0)
    fold: int = _opt(0, "which fold validates, 0 .. folds-1 (needs folds)", range=AT_LEAST_0)
    val_cases: list[str] = _opt(  # noqa: RUF009 - _opt returns a dataclasses.field
        [], "validate on exactly these case ids (overrides the split)")
    strict: bool = _opt(False, "stop before training if any case has a problem (with "
                          "--check: exit 2 after the table)")


@dataclass
class SamplingSettings:
    """Patch sampling of the three tasks and the online data transfer."""

    patch_size: list[int] = _opt(  # noqa: RUF009
        [16, 32, 32], "training patch in voxels (z y x), multiples of 8")
    patches_per_task: int = _opt(20, "patches per task per iteration (all GPUs together)",
                                 range=AT_LEAST_1)
    tumour_dilation: int = _opt(5, "task 2 centres: complete tumour dilated by this many voxels",
                                range=AT_LEAST_0)
    task1_tumour_share: float = _opt(
        0.0, "fraction of task-1 patches centred in task 2's region instead of anywhere in "
        "the brain (paper: 0; helps short runs find the tumour)",
        range=PROBABILITY)
    transfer: bool = _opt(True, "online data transfer between tasks")
    transfer_tumour_fraction: float = _opt(
        0.4, "a task-1 patch with at least this tumour fraction also trains task 2",
        range=PROBABILITY)
    transfer_core_fraction: float = _opt(
        0.5, "a task-1/2 patch with at least this core fraction also trains task 3",
        range=PROBABILITY)
    loss_margin: list[int] = _opt(  # noqa: RUF009
        [0, 0, 0], "voxels (z y x) at each side of a patch that give context but no loss "
        "(paper: 0); the transfer fractions count the loss region only")
    context: str = _opt(
        "patch", "what CGA/SE summarise in training: the whole patch (paper) or the window "
        "centred on each voxel that fast inference uses (then training and inference compute "
        "the same function)", choices=("patch", "window"))


@dataclass
class AugmentSettings:
    """Augmentation: flips and intensity scale/shift on every patch (paper), and TorchIO's
    spatial, intensity and acquisition transforms, each with its own probability (0: off)."""

    augment: bool = _opt(True, "random flips and intensity scale/shift of every "
                         "patch; --no-augment turns off all augmentation, TorchIO's too")
    flip_axes: list[int] = _opt(  # noqa: RUF009
        [0, 1, 2], "patch axes (0=z 1=y 2=x) flipped with p=0.5")
    intensity_scale: float = _opt(0.1, "per-channel intensity scale drawn in 1 +- this",
                                  range=FRACTION_BELOW_1)
    intensity_shift: float = _opt(0.1, "per-channel intensity shift drawn in +- this (z-units)",
                                  range=AT_LEAST_0)
    affine_p: float = _opt(0.0, "TorchIO: probability of a random rotation and scaling",
                           range=PROBABILITY)
    rotation_degrees: float = _opt(15.0, "TorchIO, with --affine-p: rotation about each axis "
                                   "in +- degrees",
                                   range=AT_LEAST_0)
    scaling: float = _opt(0.15, "TorchIO, with --affine-p: isotropic scale factor in "
                          "1 +- this",
                          range=FRACTION_BELOW_1)
    elastic_p: float = _opt(0.0, "TorchIO: probability of an elastic deformation",
                            range=PROBABILITY)
    gamma_p: float = _opt(0.0, "TorchIO: probability of a gamma (contrast) change",
                          range=PROBABILITY)
    noise_p: float = _opt(0.0, "TorchIO: probability of Gaussian noise", range=PROBABILITY)
    blur_p: float = _opt(0.0, "TorchIO: probability of a Gaussian blur", range=PROBABILITY)
    bias_field_p: float = _opt(0.0, "TorchIO: probability of a smooth multiplicative bias field",
                               range=PROBABILITY)
    thick_slice_p: float = _opt(
        0.0, "TorchIO: probability of a re-acquisition with 3-6 mm slices (of the sequences "
        "thick-slice-sequences says)",
        range=PROBABILITY)
    thick_slice_profile: bool = _opt(
        True, "TorchIO: average each thick slice over a Gaussian slice profile, as a scanner "
        "does (off: one thin slice picked out of every few, as the bundled model was trained)")
    thick_slice_sequences: str = _opt(
        "one", "TorchIO: which sequences a thick-slice re-acquisition hits: one at a time, "
        "also the hospital mixes (all but T1c; all four), or all four alike (a thick-slice "
        "specialist)", choices=("one", "mixed", "all"))
    margin: list[int] = _opt(  # noqa: RUF009
        [0, 8, 8], "TorchIO: voxels (z y x) added at each side of the patch so the "
        "spatial transforms bring in real tissue, cut off after them")


@dataclass
class ScheduleSettings:
    """Curriculum stages and run length."""

    curriculum: bool = _opt(True, "stage 1 task 1; stage 2 adds task 2; stage 3 adds task 3")
    stage_unit: str = _opt("epochs", "unit of stage-lengths", choices=("epochs", "iterations"))
    stage_lengths: list[float] = _opt(  # noqa: RUF009
        [1.0, 1.0, 18.0], "lengths of the three curriculum stages, in stage-unit")
    epoch_patches_per_case: int = _opt(
        1540, "patches per task and training case in one epoch (paper: 400k for 260 cases)",
        range=AT_LEAST_1)
    iterations: int = _opt(0, "total iterations (0: from the stage lengths); stages scale; "
                           "may change on --resume to extend or shorten a run (re-planned, "
                           "never back to an earlier stage or a higher learning rate)",
                           resume_ok=True, range=AT_LEAST_0)


@dataclass
class OptimSettings:
    """SGD and its learning-rate schedule."""

    lr: float = _opt(1e-3, "initial learning rate", range=ABOVE_0)
    momentum: float = _opt(0.99, "SGD momentum", range=FRACTION_BELOW_1)
    weight_decay: float = _opt(5e-4, "L2 weight decay", range=AT_LEAST_0)
    lr_halve_every: float = _opt(
        0.2, "step schedule: halve the lr after each such fraction of the run (paper: 4 of "
        "20 epochs)",
        range=ABOVE_0)
    lr_schedule: str = _opt("step", "step: halve every lr-halve-every (paper); poly: "
                            "lr (1 - t/T)^0.9; cosine: lr (1 + cos(pi t/T)) / 2",
                            choices=("step", "poly", "cosine"))
    loss: str = _opt("ce", "per-task loss: cross-entropy (paper) or cross-entropy plus soft "
                     "Dice of the non-background classes", choices=("ce", "ce+dice"))
    init_from: str = _opt("", "start from the weights of this model file (fine-tuning; "
                          "'bundled' for the bundled model)")


@dataclass
class RunSettings:
    """Devices, logging, validation and checkpoints (most may change on --resume)."""

    seed: int = _opt(0, "seed of the split, the sampling and the initial weights",
                     range=AT_LEAST_0)
    device: str = _opt("auto", "training device", choices=("auto", "cpu", "cuda", "mps"),
                       resume_ok=True)
    precision: str = _opt("auto", "autocast precision; auto: float16 on CUDA, float32 "
                          "elsewhere (float16 needs CUDA; bfloat16 runs on CPU too)",
                          choices=("auto", "float32", "float16", "bfloat16"), resume_ok=True)
    threads: int = _opt(0, "CPU threads for torch (0: torch's default)", resume_ok=True,
                        range=AT_LEAST_0)
    validate_every: int = _opt(0, "validate every N iterations (0: ten times per run)",
                               resume_ok=True, range=AT_LEAST_0)
    val_mode: str = _opt("fast", "inference mode of validation, as omnet segment --mode "
                         "(fast: large tiles; exact: the paper's overlap-tile)",
                         choices=("fast", "exact"), resume_ok=True)
    val_max_cases: int = _opt(0, "validate on the first N validation cases only (0: all)",
                              resume_ok=True, range=AT_LEAST_0)
    export: str = _opt("best", "network to export: the best validated one, or the last "
                       "(use last when validation cases must not steer the result)",
                       choices=("best", "last"), resume_ok=True)
    bn_recalibration: int = _opt(
        0, "re-estimate BatchNorm statistics over this many training batches before each "
        "validation and the last checkpoint (0: off, the paper)", resume_ok=True,
        range=AT_LEAST_0)
    checkpoint_every: int = _opt(0, "checkpoint every N iterations (0: 20 times per run)",
                                 resume_ok=True, range=AT_LEAST_0)
    checkpoint_minutes: float = _opt(15.0, "also checkpoint once this many minutes have passed "
                                       "since the last checkpoint (0: off)",
                                     resume_ok=True, range=AT_LEAST_0)
    log_every: int = _opt(10, "with --progress-format lines: METRIC/PROGRESS lines "
                          "every N iterations", resume_ok=True,
                          range=AT_LEAST_1)
    plot_every: int = _opt(100, "redraw curves.png every N iterations", resume_ok=True,
                           range=AT_LEAST_1)
    tensorboard: bool = _opt(True, "TensorBoard logs when tensorboard is installed",
                             resume_ok=True)


SECTIONS = {"data": DataSettings, "sampling": SamplingSettings, "augment": AugmentSettings,
            "schedule": ScheduleSettings, "optim": OptimSettings, "run": RunSettings}


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved as ``config.json`` in the run folder."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataSettings = field(default_factory=DataSettings)
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    optim: OptimSettings = field(default_factory=OptimSettings)
    run: RunSettings = field(default_factory=RunSettings)
    preset: str = "paper"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "model": self.model.to_dict()}

    def validate(self) -> TrainConfig:
        """Raise :class:`ModelConfigError` for settings that cannot train; return self."""
        s, sc = self.sampling, self.schedule
        self._check_ranges()
        if self.model.members != 1:
            raise ModelConfigError("an ensemble is not trained as a whole; train each member "
                                   "and combine them with tools/make_ensemble.py")
        if len(s.patch_size) != 3 or any(p <= 0 or p % 8 for p in s.patch_size):
            raise ModelConfigError(f"patch-size must be three multiples of 8, got {s.patch_size}")
        if len(sc.stage_lengths) != 3 or any(x < 0 for x in sc.stage_lengths) \
                or sum(sc.stage_lengths) <= 0:
            raise ModelConfigError("stage-lengths must be three non-negative numbers, not all 0")
        if self.data.folds and not 0 <= self.data.fold < self.data.folds:
            raise ModelConfigError(f"fold must be in 0..{self.data.folds - 1}")
        if self.data.folds == 1:
            raise ModelConfigError("folds must be 0 (no folds) or >= 2")
        if self.data.fold and not self.data.folds:
            raise ModelConfigError(f"fold {self.data.fold} needs folds (the number of "
                                   "cross-validation folds); without it no fold validates")
        if any(a not in (0, 1, 2) for a in self.augment.flip_axes):
            raise ModelConfigError("flip-axes must be among 0 1 2")
        margin = s.loss_margin
        if len(margin) != 3 or any(m < 0 or 2 * m >= p for m, p in zip(margin, s.patch_size)):
            raise ModelConfigError(f"loss-margin must be three non-negative numbers smaller "
                                   f"than half the patch, got {margin}")
        if len(self.augment.margin) != 3 or any(m < 0 for m in self.augment.margin):
            raise ModelConfigError("augment margin must be three non-negative numbers")
        return self

    def _check_ranges(self) -> None:
        """Every number setting within its field's :class:`Range` (as the CLI checks)."""
        for section in SECTIONS:
            values = getattr(self, section)
            for f in fields(values):
                bounds, value = f.metadata.get("range"), getattr(values, f.name)
                if bounds is not None and not bounds.admits(value):
                    raise ModelConfigError(f"{f.name.replace('_', '-')} must be {bounds}, "
                                           f"got {value}")

    def effective(self) -> TrainConfig:
        """The settings as trained: cascades train each network on its own task's patches
        from the start (no curriculum, no transfer)."""
        if not self.model.spec.cascade_networks:
            return self
        return replace(self, schedule=replace(self.schedule, curriculum=False),
                       sampling=replace(self.sampling, transfer=False))

    def tasks(self) -> tuple[int, ...]:
        """Tasks this variant trains: cascades only those with a network of their own."""
        n = self.model.spec.cascade_networks
        return tuple(range(1, n + 1)) if n else (1, 2, 3)


#: The fixed validation split of every recipe decision (7 of the 34 development cases:
#: the previous bundled model's 4 held-out cases, one of them low-grade, and 3 extra cases).
VALIDATION_CASES = ("Brats18_2013_2_1", "Brats18_CBICA_AQN_1", "Brats18_TCIA02_135_1",
                    "Brats18_TCIA13_623_1", "BraTS20_Training_001", "Brats18_CBICA_AQO_1",
                    "Brats18_CBICA_ASY_1")

#: Overrides per preset, by section; ``paper`` is the dataclass defaults.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {},
    # Minutes on a 2-core CPU. A larger step with a shorter momentum memory (lr 0.05,
    # momentum 0.9: lr / (1 - momentum) = 0.5 against the paper's 0.1, whose 100-iteration
    # momentum barely moves in 300 iterations), and half of task 1's patches centred near
    # the tumour, without which task 1 (so the fused segmentation) finds no tumour at all
    # after so few patches.
    "quick": {
        "model": {"width": 8},
        "data": {"val_fraction": 0.2},
        "sampling": {"patches_per_task": 4, "task1_tumour_share": 0.5},
        "schedule": {"stage_unit": "iterations", "stage_lengths": [30.0, 30.0, 240.0]},
        "optim": {"lr": 0.05, "momentum": 0.9},
        "run": {"validate_every": 150, "val_max_cases": 2, "checkpoint_every": 50,
                "plot_every": 25, "log_every": 5},
    },
    # The recipe of the shipped ensemble's first network (README, model card), 2-core CPU:
    # width 16; 32x64x64 inputs of which the central 24x48x48 are scored, CGA/SE summed over
    # the window fast inference uses, so the default inference computes the function that
    # was trained; TorchIO augmentation; cross-entropy + soft Dice; poly learning rate; all
    # three tasks from the start (it fine-tunes a model trained with the curriculum, given
    # with --init-from); the last network is exported, so the fixed validation split (four
    # cases the previous model never saw, one low-grade, and three of the extra cases)
    # stays unbiased.
    "bundled": {
        "model": {"width": 16},
        "data": {"val_cases": list(VALIDATION_CASES)},
        "sampling": {"patch_size": [32, 64, 64], "patches_per_task": 2,
                     "loss_margin": [4, 8, 8], "context": "window",
                     "task1_tumour_share": 0.3},
        "augment": {"affine_p": 0.2, "elastic_p": 0.1, "gamma_p": 0.3, "noise_p": 0.15,
                    "blur_p": 0.1, "bias_field_p": 0.2, "thick_slice_p": 0.2,
                    "thick_slice_profile": False},
        "schedule": {"stage_unit": "iterations", "stage_lengths": [0.0, 0.0, 1500.0],
                     "iterations": 900},
        "optim": {"lr": 0.01, "momentum": 0.9, "lr_schedule": "poly", "loss": "ce+dice"},
        "run": {"precision": "bfloat16", "export": "last", "validate_every": 250,
                "bn_recalibration": 30,
                "checkpoint_every": 50, "checkpoint_minutes": 10.0, "plot_every": 25},
    },
}
# The shipped ensemble's second member: the same recipe with flips and intensity jitter as
# its only augmentation (sharper on BraTS-clean cases, less robust to re-acquisition).
PRESETS["bundled-plain"] = {
    **PRESETS["bundled"],
    "augment": {"affine_p": 0.0, "elastic_p": 0.0, "gamma_p": 0.0, "noise_p": 0.0,
                "blur_p": 0.0, "bias_field_p": 0.0, "thick_slice_p": 0.0,
                "thick_slice_profile": False},
}


# The shipped ensemble's thick-slice member: the second member fine-tuned (its weights taken
# out with tools/ensemble_member.py) on all four sequences re-acquired alike with 3-6 mm
# slices averaged over a Gaussian slice profile, on every patch, at half the learning rate
# for 600 iterations. It runs only on input whose four sequences all have thick slices.
PRESETS["bundled-thick"] = {
    **PRESETS["bundled-plain"],
    "augment": {**PRESETS["bundled-plain"]["augment"], "thick_slice_p": 1.0,
                "thick_slice_profile": True, "thick_slice_sequences": "all"},
    "schedule": {**PRESETS["bundled"]["schedule"], "iterations": 600},
    "optim": {**PRESETS["bundled"]["optim"], "lr": 0.005},
}


def apply_overrides(config: TrainConfig, overrides: dict[str, dict[str, Any]]) -> TrainConfig:
    """A new config with ``{section: {field: value}}`` applied (unknown names refused)."""
    changes: dict[str, Any] = {}
    for section, values in overrides.items():
        if section == "preset":
            changes["preset"] = values
            continue
        current = getattr(config, section, None)
        if current is None:
            raise ModelConfigError(f"unknown settings section {section!r}")
        known = {f.name for f in fields(current)}
        unknown = set(values) - known
        if unknown:
            raise ModelConfigError(f"unknown {section} settings: {', '.join(sorted(unknown))}")
        if section == "model":
            changes[section] = ModelConfig(**{**current.to_dict(), **values})
        else:
            changes[section] = replace(current, **copy.deepcopy(values))
    return replace(config, **changes)


def preset_config(name: str = "paper") -> TrainConfig:
    """The configuration of a named preset."""
    if name not in PRESETS:
        raise ModelConfigError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return apply_overrides(TrainConfig(preset=name), PRESETS[name])


#: Settings added after runs were saved whose default is not what those runs did: a saved
#: section without them gets these values, so ``--resume`` goes on as the run started.
_BEFORE_THEY_EXISTED: dict[str, dict[str, Any]] = {"augment": {"thick_slice_profile": False}}


def config_from_dict(data: dict[str, Any], validate: bool = True) -> TrainConfig:
    """Rebuild a saved configuration (``config.json``), refusing unknown sections; with
    ``validate`` False its values are checked later (after ``--resume`` overrides)."""
    data = dict(data)
    for section, values in _BEFORE_THEY_EXISTED.items():
        if isinstance(data.get(section), dict):
            data[section] = {**values, **data[section]}
    saved_data = data.get("data")
    if isinstance(saved_data, dict) and saved_data.get("fold") and not saved_data.get("folds"):
        data["data"] = {**saved_data, "fold": 0}  # fold without folds was once ignored
    preset = data.pop("preset", "paper")
    config = TrainConfig(preset=preset)
    unknown = set(data) - {"model", *SECTIONS}
    if unknown:
        raise ModelConfigError(f"unknown settings sections: {', '.join(sorted(unknown))}")
    config = apply_overrides(config, data)
    return config.validate() if validate else config
