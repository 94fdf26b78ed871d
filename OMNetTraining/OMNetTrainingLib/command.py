"""Command lines of ``omnet train`` and ``omnet train --check`` from the module's settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from OMNetSegmentationLib.command import DEVICE_CHOICES, cli_device

from omnet.registry import VARIANTS

__all__ = ["PRESETS", "VARIANT_CHOICES", "TrainingOptions", "check_arguments",
           "check_command", "folder_text", "train_arguments", "train_command"]

PRESETS = ("quick", "paper")
#: Variant choices shown to people; the first means "as the preset says".
PRESET_VARIANT = "preset default"
VARIANT_CHOICES = (PRESET_VARIANT, *VARIANTS)


def folder_text(path: object) -> str:
    """A folder chosen in the GUI as text; an unset path (``.`` or empty) gives ``""``."""
    text = str(path or "").strip()
    return "" if text in ("", ".") else text


@dataclass(frozen=True)
class TrainingOptions:
    """The main settings of a run; 0 or "" means "as the preset says"."""

    data_dir: str
    out_dir: str
    preset: str = "quick"
    variant: str = ""
    width: int = 0
    iterations: int = 0
    device: str = "auto"
    resume: bool = False

    def __post_init__(self) -> None:
        if not self.data_dir.strip():
            raise ValueError("choose the dataset folder")
        if not self.out_dir.strip():
            raise ValueError("choose the output folder")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {PRESETS}, got {self.preset!r}")
        if self.variant == PRESET_VARIANT:
            object.__setattr__(self, "variant", "")
        if self.variant and self.variant not in VARIANTS:
            raise ValueError(f"unknown model variant {self.variant!r}")
        if self.width < 0 or self.width % 2:
            raise ValueError(f"width must be an even number (0 for the preset's), got {self.width}")
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if self.device not in DEVICE_CHOICES:
            raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {self.device!r}")


def train_arguments(options: TrainingOptions) -> list[str]:
    """``train DATA --out RUN --preset P ... --progress-format lines`` (after ``omnet``).

    A resumed run keeps the settings saved in its folder, so only the device and a new
    length (``--iterations``, which lengthens or shortens the run) are passed.
    """
    argv = ["train", options.data_dir, "--out", options.out_dir,
            "--device", cli_device(options.device), "--progress-format", "lines"]
    if options.resume:
        length = ["--iterations", str(options.iterations)] if options.iterations else []
        return [*argv, *length, "--resume"]
    argv += ["--preset", options.preset]
    if options.variant:
        argv += ["--variant", options.variant]
    if options.width:
        argv += ["--width", str(options.width)]
    if options.iterations:
        argv += ["--iterations", str(options.iterations)]
    return argv


def train_command(python: Sequence[str], options: TrainingOptions) -> list[str]:
    """The whole command line: ``python -m omnet train ...``."""
    return [*python, "-m", "omnet", *train_arguments(options)]


def check_arguments(data_dir: str) -> list[str]:
    """``train DATA --check --progress-format lines``: scan and validate, no training."""
    if not data_dir.strip():
        raise ValueError("choose the dataset folder")
    return ["train", data_dir, "--check", "--progress-format", "lines"]


def check_command(python: Sequence[str], data_dir: str) -> list[str]:
    """The whole command line: ``python -m omnet train DATA --check ...``."""
    return [*python, "-m", "omnet", *check_arguments(data_dir)]
