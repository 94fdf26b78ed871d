"""What an MSD or nnU-Net ``dataset.json`` says about a training set's channels and labels.

nnU-Net's own BraTS conversions (Dataset042/043/137) store the channels as T1, T1ce, T2,
FLAIR and MSD Task01 as FLAIR, T1w, T1gd, T2w: the channel names, not a fixed order, say
which file is which sequence. Pure data in, data out; reading the file is the caller's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omnet.data.naming import ROLE_TITLES, SEQUENCE_ROLES, classify_name
from omnet.errors import InputError

__all__ = ["DatasetDescription", "channel_roles", "describe_dataset", "edema_label"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetDescription:
    """The sequence of each channel index (0..3) and the label scheme the file fixes
    (``None``: detect it from each label map's values)."""

    channels: tuple[str, ...] = SEQUENCE_ROLES
    label_scheme: str | None = "msd"


def channel_roles(names: Mapping[Any, Any]) -> tuple[str, ...]:
    """The sequence role of channels 0..3 from ``channel_names`` / ``modality``
    (``{"0": "T1", "1": "T1ce", "2": "T2", "3": "Flair"}`` -> t1, t1ce, t2, flair).

    Raises:
        InputError: not four channels 0..3 naming FLAIR, T1, T1c and T2 once each.
    """
    shown = ", ".join(f"{k}: {v}" for k, v in names.items())
    expected = (f"dataset.json names the channels {{{shown}}}; training needs four, 0 to 3, "
                "naming FLAIR, T1, T1c and T2 once each (e.g. \"0\": \"FLAIR\", \"1\": "
                "\"T1w\", \"2\": \"T1gd\", \"3\": \"T2w\")")
    try:
        by_index = {int(k): str(v) for k, v in names.items()}
    except (TypeError, ValueError):
        raise InputError(expected) from None
    if sorted(by_index) != list(range(len(SEQUENCE_ROLES))):
        raise InputError(expected)
    roles = tuple(classify_name(by_index[i]) for i in range(len(SEQUENCE_ROLES)))
    if sorted(r or "" for r in roles) != sorted(SEQUENCE_ROLES):
        raise InputError(expected)
    return roles  # type: ignore[return-value]


def edema_label(labels: Mapping[Any, Any]) -> int | None:
    """The edema's value in a ``labels`` entry: MSD's value -> name (``{"1": "edema"}``),
    nnU-Net v2's name -> value (``{"edema": 1}``), or nnU-Net's BraTS regions
    (``"whole tumor": [1, 2, 3], "tumor core": [2, 3]``: the edema is what lies in the
    whole tumour and not in the core)."""
    if all(str(k).isdigit() for k in labels):
        names = {str(v).lower(): int(k) for k, v in labels.items()}
    else:
        names = {str(k).lower(): v for k, v in labels.items()}
    if isinstance(names.get("edema"), int):
        return names["edema"]
    whole, core = (names.get(f"{r} {w}") for r, w in (("whole", "tumor"), ("tumor", "core")))
    if isinstance(whole, list) and isinstance(core, list):
        edema = set(whole) - set(core)
        return edema.pop() if len(edema) == 1 else None
    return None


def describe_dataset(meta: Mapping[str, Any]) -> DatasetDescription:
    """Channel roles and label scheme of a parsed ``dataset.json`` (MSD or nnU-Net v2).

    Without channel names the MSD order (FLAIR, T1w, T1gd, T2w) is assumed. The labels fix
    the MSD scheme (1 edema, 2 non-enhancing, 3 enhancing, also nnU-Net's BraTS
    conversion) when the edema is 1; any other labels leave the scheme to each label map.

    Raises:
        InputError: channel names that are not the four sequences.
    """
    names = meta.get("channel_names") or meta.get("modality")
    channels = channel_roles(names) if isinstance(names, Mapping) else SEQUENCE_ROLES
    if channels != SEQUENCE_ROLES:
        log.info("dataset.json: channels 0-3 are %s",
                 ", ".join(ROLE_TITLES[r] for r in channels))
    labels = meta.get("labels", {})
    edema = edema_label(labels) if isinstance(labels, Mapping) else None
    return DatasetDescription(channels, "msd" if edema == 1 else None)
