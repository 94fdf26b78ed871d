"""Check a model card's fields before building anything from them (torch-free).

A card is read from a file anyone can write. A field of the wrong type must be refused
with its name, not crash deep inside torch; and a card that asks for inputs or outputs this
version does not implement (other sequences, normalisation or label values) must be
refused, since inference would silently feed and label it the BraTS way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from omnet.errors import ModelFileError

__all__ = ["check_card_fields", "check_config_fields"]

_STORAGE_DTYPES = ("float32", "float16", "bfloat16")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _positive_numbers(count: int) -> Callable[[Any], bool]:
    return lambda v: (isinstance(v, list) and len(v) == count
                      and all(_is_number(x) and x > 0 for x in v))


def _positive_ints(count: int) -> Callable[[Any], bool]:
    return lambda v: (isinstance(v, list) and len(v) == count
                      and all(_is_int(x) and x > 0 for x in v))


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


#: card field -> (test, what it must be); "model" is checked by check_config_fields.
_CARD_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty text"),
    "modalities": (_str_list, "a list of sequence names"),
    "normalization": (lambda v: isinstance(v, dict), "a map"),
    "patch_size": (_positive_ints(3), "three positive whole numbers (z y x)"),
    "voxel_spacing": (_positive_numbers(3), "three positive mm values (x y z)"),
    "classes": (lambda v: isinstance(v, dict) and all(_str_list(x) for x in v.values()),
                "a map of task to class names"),
    "output_labels": (lambda v: isinstance(v, dict) and all(_is_int(x) for x in v.values()),
                      "a map of class to label value"),
    "training": (lambda v: isinstance(v, dict), "a map"),
    "metrics": (lambda v: isinstance(v, dict), "a map"),
    "description": (lambda v: isinstance(v, str), "a text"),
    "omnet_version": (lambda v: isinstance(v, str), "a text"),
    "tensors_sha256": (lambda v: isinstance(v, str), "a text"),
    "storage_dtype": (lambda v: v in _STORAGE_DTYPES, "one of " + ", ".join(_STORAGE_DTYPES)),
}

#: ModelConfig field -> (test, what it must be).
_CONFIG_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "variant": (lambda v: isinstance(v, str), "a variant name"),
    "width": (_is_int, "a whole number"),
    "in_channels": (_is_int, "a whole number"),
    "dropout": (_is_number, "a number"),
    "bn_average_fraction": (_is_number, "a number"),
    "se_reduction": (_is_int, "a whole number"),
    "members": (_is_int, "a whole number"),
    "member_inputs": (_str_list, "a list of input kinds"),
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_types(data: dict[str, Any], types: dict, where: str) -> None:
    for key, (test, wanted) in types.items():
        if key in data and not test(data[key]):
            raise ModelFileError(f"model card is invalid: {where}{key} must be {wanted}, "
                                 f"not {_short(data[key])}")


def check_config_fields(data: Any) -> None:
    """Raise :class:`ModelFileError` naming the first ``model`` setting of a wrong type."""
    if not isinstance(data, dict):
        raise ModelFileError(f"model card is invalid: model must be a map of network "
                             f"settings, not {_short(data)}")
    _check_types(data, _CONFIG_TYPES, "model.")


def check_card_fields(data: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Raise :class:`ModelFileError` for a card field that is missing, of the wrong type,
    or a convention (sequences, normalisation, labels) other than ``defaults``, the only
    one inference implements."""
    missing = [key for key in ("name", "model") if key not in data]
    if missing:
        raise ModelFileError(f"model card is invalid: it lacks {', '.join(missing)}")
    _check_types(data, _CARD_TYPES, "")
    check_config_fields(data["model"])
    for key, what in (("modalities", "input sequences"), ("normalization", "normalisation"),
                      ("output_labels", "output labels")):
        if key in data and data[key] != defaults[key]:
            raise ModelFileError(
                f"the model expects {what} {_short(data[key])}; this version of OMNet "
                f"implements only {_short(defaults[key])}")
    channels = data["model"].get("in_channels", len(defaults["modalities"]))
    if channels != len(defaults["modalities"]):
        raise ModelFileError(f"the model expects {channels} input sequences; OMNet feeds "
                             f"{len(defaults['modalities'])}")
