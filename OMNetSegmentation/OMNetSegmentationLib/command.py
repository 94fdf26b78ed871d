"""Command lines for ``python -m omnet ...`` child processes and their environment (pure).

The child runs with Slicer's own interpreter, found the way ``slicer.util`` finds it for
``pip``: ``PythonSlicer`` on the PATH inside Slicer, else next to ``sys.executable``.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from omnet.data.naming import SEQUENCE_ROLES
from omnet.inference.settings import MODES, OUTPUT_GRIDS
from omnet.inference.settings import PREPARE_CHOICES as PREPARE_SETTINGS

from .segments import CHILD_SCHEME

__all__ = ["DEVICE_CHOICES", "MODE_CHOICES", "PREPARE_CHOICES", "SegmentOptions",
           "child_environment", "cli_device", "demo_arguments", "omnet_search_path",
           "python_command",
           "segment_arguments", "segment_command"]

#: Device choices shown to people; mapped to ``--device`` by :func:`cli_device`.
DEVICE_CHOICES = ("auto", "GPU", "CPU")
MODE_CHOICES = MODES
#: Skull stripping and registration: detect the need (auto, right for raw scans), always, never.
PREPARE_CHOICES = PREPARE_SETTINGS
#: Label values written by the child: 1, 2, 3 for necrotic, edema, enhancing, which is the
#: order of the segments, so one import fills all three (see ``segments.SEGMENTS``).
CHILD_LABELS = CHILD_SCHEME.name


@dataclass(frozen=True)
class SegmentOptions:
    """What the user chose for one run of ``omnet segment``."""

    model: str = ""  # a .safetensors path; empty: the bundled default for the device
    device: str = "auto"  # one of DEVICE_CHOICES
    mode: str = "fast"  # one of MODE_CHOICES
    postprocess: bool = True
    attention: bool = False
    skull_strip: str = "auto"  # one of PREPARE_CHOICES
    register: str = "auto"  # one of PREPARE_CHOICES
    bias_correction: bool = False
    match_resolution: bool = True  # a second pass for thick series beside a sharp T1c
    # auto: segments on the network's 1 mm grid when the T1c's slices are 3 mm or thicker
    output_grid: str = "auto"  # one of OUTPUT_GRIDS

    def __post_init__(self) -> None:
        for name in ("skull_strip", "register"):
            if getattr(self, name) not in PREPARE_CHOICES:
                raise ValueError(f"{name} must be one of {PREPARE_CHOICES}, "
                                 f"got {getattr(self, name)!r}")
        if self.device not in DEVICE_CHOICES:
            raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {self.device!r}")
        if self.mode not in MODE_CHOICES:
            raise ValueError(f"mode must be one of {MODE_CHOICES}, got {self.mode!r}")
        if self.output_grid not in OUTPUT_GRIDS:
            raise ValueError(f"output_grid must be one of {OUTPUT_GRIDS}, "
                             f"got {self.output_grid!r}")


def cli_device(choice: str, system: str = sys.platform, machine: str | None = None) -> str:
    """``auto``/``GPU``/``CPU`` -> ``--device``; a GPU is Metal (mps) on Apple Silicon."""
    if choice == "CPU":
        return "cpu"
    if choice == "GPU":
        machine = platform.machine() if machine is None else machine
        return "mps" if system == "darwin" and machine == "arm64" else "cuda"
    if choice == "auto":
        return "auto"
    raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {choice!r}")


def python_command(in_slicer: bool, which: Callable[[str], str | None] = shutil.which,
                   executable: str = sys.executable, os_name: str = os.name,
                   exists: Callable[[str], bool] = os.path.exists) -> list[str]:
    """The interpreter to start: Slicer's ``PythonSlicer`` inside Slicer, else this Python."""
    if in_slicer:
        found = which("PythonSlicer")
        if found:
            return [found]
        beside = os.path.join(os.path.dirname(executable),
                              "PythonSlicer.exe" if os_name == "nt" else "PythonSlicer")
        if exists(beside):
            return [beside]
    return [executable]


def omnet_search_path() -> Path:
    """The folder holding the ``omnet`` package the modules use (shipped with the extension)."""
    import omnet

    return Path(omnet.__file__).resolve().parent.parent


def child_environment(base: Mapping[str, str], search_path: str | os.PathLike) -> dict[str, str]:
    """``base`` plus what the child needs: ``omnet`` importable, unbuffered UTF-8 output."""
    env = dict(base)
    old = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join([str(search_path), *([old] if old else [])])
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def segment_arguments(inputs: Mapping[str, str | os.PathLike], output: str | os.PathLike,
                      options: SegmentOptions, attention_dir: str | os.PathLike | None = None,
                      report: str | os.PathLike | None = None) -> list[str]:
    """``segment --flair F --t1 F --t1ce F --t2 F -o OUT ...``: the arguments after ``omnet``."""
    missing = [role for role in SEQUENCE_ROLES if not inputs.get(role)]
    if missing:
        raise ValueError(f"no volume for {', '.join(missing)}")
    argv = ["segment"]
    for role in SEQUENCE_ROLES:
        argv += [f"--{role}", str(inputs[role])]
    argv += ["-o", str(output), "--device", cli_device(options.device), "--mode", options.mode,
             "--labels", CHILD_LABELS, "--progress-format", "lines"]
    if options.model:
        argv += ["--model", str(options.model)]
    if not options.postprocess:
        argv.append("--no-postprocess")
    argv += ["--skull-strip", options.skull_strip, "--register", options.register]
    if options.bias_correction:
        argv.append("--bias-correction")
    if not options.match_resolution:
        argv += ["--match-resolution", "off"]
    argv += ["--output-grid", options.output_grid]
    if options.attention:
        if attention_dir is None:
            raise ValueError("attention maps were asked for but no folder was given")
        argv += ["--attention", str(attention_dir)]
    if report is not None:
        argv += ["--report", str(report)]
    return argv


def segment_command(python: list[str], inputs: Mapping[str, str | os.PathLike],
                    output: str | os.PathLike, options: SegmentOptions,
                    attention_dir: str | os.PathLike | None = None,
                    report: str | os.PathLike | None = None) -> list[str]:
    """The whole command line: ``python -m omnet segment ...``."""
    return [*python, "-m", "omnet",
            *segment_arguments(inputs, output, options, attention_dir, report)]


def demo_arguments(folder: str | os.PathLike) -> list[str]:
    """``demo -o FOLDER --no-segment ...``: write the synthetic demo case only.

    Needs numpy, scipy and SimpleITK, which Slicer ships, so it works before anything is
    installed; the case lands in ``FOLDER/demo`` with BraTS 2018 names.
    """
    return ["demo", "-o", str(folder), "--no-segment", "--progress-format", "lines"]
