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
from omnet.labels import SCHEMES

__all__ = ["MSD_DEFAULT", "DatasetDescription", "channel_roles", "describe_dataset",
           "label_scheme_of_labels", "region_values"]

log = logging.getLogger(__name__)


#: Where the channel order and label scheme come from when no ``dataset.json`` says.
MSD_DEFAULT = "the MSD default (no dataset.json)"


@dataclass(frozen=True)
class DatasetDescription:
    """The sequence of each channel index (0..3) and the label scheme the file fixes
    (``None``: detect it from each label map's values), and where each was read, for
    ``omnet train --check`` to show."""

    channels: tuple[str, ...] = SEQUENCE_ROLES
    label_scheme: str | None = "msd"
    channels_from: str = MSD_DEFAULT
    scheme_from: str = MSD_DEFAULT


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


#: Label names for each tumour region: MSD's, nnU-Net's, BraTS 2023+'s abbreviations.
_REGION_NAMES = {
    "necrotic": {"necrotic", "necrosis", "ncr", "net", "netc", "ncr/net", "non-enhancing tumor",
                 "non-enhancing tumour", "necrotic tumor core", "non-enhancing tumor core"},
    "edema": {"edema", "oedema", "ed", "snfh", "peritumoral edema", "peritumoral oedema"},
    "enhancing": {"enhancing", "et", "enhancing tumor", "enhancing tumour"},
}


def _names(labels: Mapping[Any, Any]) -> dict[str, Any]:
    """Lower-case name -> value of a ``labels`` entry, written value -> name (MSD) or
    name -> value (nnU-Net v2)."""
    if all(str(k).isdigit() for k in labels):
        return {str(v).lower(): int(k) for k, v in labels.items()}
    return {str(k).lower(): v for k, v in labels.items()}


def _as_set(value: Any) -> set[int] | None:
    if isinstance(value, int):
        return {value}
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return set(value)
    return None


def region_values(labels: Mapping[Any, Any]) -> dict[str, int]:
    """The value of each tumour region a ``labels`` entry names: by name (``{"1": "edema"}``,
    ``{"SNFH": 2}``) or as nnU-Net's BraTS regions (``"whole tumor": [1, 2, 3], "tumor core":
    [2, 3], "enhancing tumor": [3]``: edema = whole minus core, necrotic = core minus
    enhancing)."""
    names = _names(labels)
    found: dict[str, int] = {}
    for region, words in _REGION_NAMES.items():
        hits = {v for n, v in names.items() if n in words and isinstance(v, int)}
        if len(hits) == 1:
            found[region] = hits.pop()
    whole, core, enhancing = (_as_set(names.get(n)) for n in
                              ("whole tumor", "tumor core", "enhancing tumor"))
    derived = {"edema": whole - core if whole and core else None,
               "necrotic": core - enhancing if core and enhancing else None,
               "enhancing": enhancing}
    for region, values in derived.items():
        if region not in found and values is not None and len(values) == 1:
            found[region] = next(iter(values))
    return found


def label_scheme_of_labels(labels: Mapping[Any, Any]) -> str | None:
    """The one BraTS scheme consistent with every region value ``labels`` names (MSD for
    ``{"1": "edema"}``, brats2023 for BraTS 2024's ``NETC 1, SNFH 2, ET 3, RC 4``), else
    None: each label map's values decide."""
    found = region_values(labels)
    if "edema" not in found:
        return None
    fits = [s.name for s in SCHEMES.values()
            if all(getattr(s, region) == value for region, value in found.items())]
    return fits[0] if len(fits) == 1 else None


def describe_dataset(meta: Mapping[str, Any]) -> DatasetDescription:
    """Channel roles and label scheme of a parsed ``dataset.json`` (MSD or nnU-Net v2).

    Without channel names the MSD order (FLAIR, T1w, T1gd, T2w) is assumed. The labels fix
    the MSD scheme (1 edema, 2 non-enhancing, 3 enhancing, also nnU-Net's BraTS
    conversion) when the edema is 1; any other labels leave the scheme to each label map.

    Raises:
        InputError: channel names that are not the four sequences.
    """
    key = "channel_names" if meta.get("channel_names") else "modality"
    names = meta.get(key)
    channels = channel_roles(names) if isinstance(names, Mapping) else SEQUENCE_ROLES
    channels_from = (f"dataset.json {key}" if isinstance(names, Mapping)
                     else "the MSD default (dataset.json names no channels)")
    if channels != SEQUENCE_ROLES:
        log.info("dataset.json: channels 0-3 are %s",
                 ", ".join(ROLE_TITLES[r] for r in channels))
    labels = meta.get("labels", {})
    scheme = label_scheme_of_labels(labels) if isinstance(labels, Mapping) else None
    return DatasetDescription(channels, scheme, channels_from, "dataset.json labels")
