"""Command-line options generated from the training dataclasses, in one place (torch-free).

Every field of :class:`TrainConfig`'s sections becomes ``--field-name``; booleans get a
``--no-`` form. Options default to None so that only what the user typed overrides the
preset (or, on ``--resume``, the saved run).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from omnet.registry import VARIANTS, ModelConfig
from omnet.training.config import SECTIONS, Range

__all__ = ["RESUME_OK", "add_config_options", "overrides_from_args"]

_MODEL_HELP = {
    "variant": ("network variant", tuple(VARIANTS)),
    "width": ("channels of the first level (paper: 32)", None),
    "dropout": ("dropout probability after the bottleneck", None),
    "bn_average_fraction": ("Caffe BatchNorm moving-average fraction", None),
    "se_reduction": ("channel reduction of the SE blocks (omnet-se)", None),
}
_ITEM_TYPES = {"list[int]": int, "list[float]": float, "list[str]": str}
_SCALARS = {"int": int, "float": float, "str": str}
_SEP = "__"


def _resume_ok() -> set[str]:
    return {f"{name}{_SEP}{f.name}" for name, cls in SECTIONS.items() for f in fields(cls)
            if f.metadata.get("resume_ok")}


#: ``section__field`` destinations that may change when resuming a run.
RESUME_OK = _resume_ok()


def _within(convert: Callable[[str], Any], bounds: Range) -> Callable[[str], Any]:
    """An argparse ``type`` that converts a value and refuses it outside ``bounds``."""

    def parse(text: str) -> Any:
        value = convert(text)
        if not bounds.admits(value):
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    parse.__name__ = convert.__name__  # argparse names the type in 'invalid int value'
    return parse


def _add(group: argparse._ArgumentGroup, section: str, name: str, kind: str, default: Any,
         help_text: str, choices: Any = None, bounds: Range | None = None) -> None:
    flag = "--" + name.replace("_", "-")
    dest = f"{section}{_SEP}{name}"
    shown = " ".join(map(str, default)) if isinstance(default, list) else default
    help_text = f"{help_text} (default: {shown if shown != '' else 'none'})"
    if kind == "bool":
        group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction,
                           default=None, help=help_text)
    elif kind in _ITEM_TYPES:
        group.add_argument(flag, dest=dest, nargs="*", type=_ITEM_TYPES[kind], default=None,
                           metavar=name.split("_")[-1].upper(), help=help_text)
    else:
        convert = _SCALARS[kind]
        group.add_argument(flag, dest=dest, default=None,
                           type=_within(convert, bounds) if bounds else convert,
                           choices=choices, metavar=None if choices else name.upper(),
                           help=help_text)


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Add one option per training setting, grouped by section."""
    group = parser.add_argument_group("model (paper values shown)")
    defaults = ModelConfig()
    for f in fields(ModelConfig):
        if f.name in _MODEL_HELP:
            text, choices = _MODEL_HELP[f.name]
            _add(group, "model", f.name, str(f.type), getattr(defaults, f.name), text, choices)
    for section, cls in SECTIONS.items():
        group = parser.add_argument_group(f"{section} (paper values shown)")
        instance = cls()
        for f in fields(cls):
            _add(group, section, f.name, str(f.type), getattr(instance, f.name),
                 f.metadata.get("help", ""), f.metadata.get("choices"), f.metadata.get("range"))


def overrides_from_args(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """``{section: {field: value}}`` of the options given on the command line."""
    out: dict[str, dict[str, Any]] = {}
    for dest, value in vars(args).items():
        if _SEP in dest and value is not None:
            section, name = dest.split(_SEP, 1)
            out.setdefault(section, {})[name] = value
    return out
