"""Names shown to people: the result's node name and the attention maps' titles (pure)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from omnet.data.naming import strip_image_suffix

__all__ = ["ATTENTION_TITLES", "RUN_SUFFIX_ATTRIBUTE", "attention_title", "attention_window",
           "case_stem", "result_part_name", "run_suffix", "segmentation_name"]

#: Segmentation node attribute: the suffix Slicer gave the run's name ("" for the first run).
RUN_SUFFIX_ATTRIBUTE = "OMNet.RunSuffix"

_SEPARATORS = " _-.:"

ATTENTION_TITLES = {
    "cga_tumour_pt": "tumour guidance Pt (CGA-tumour)",
    "cga_tumour_pn": "non-tumour guidance Pn (CGA-tumour)",
    "cga_core_pt": "core guidance Pt (CGA-core)",
    "cga_core_pn": "non-core guidance Pn (CGA-core)",
    "cga_tumour_top_channel": "most-weighted feature channel (CGA-tumour)",
    "cga_tumour_bottom_channel": "least-weighted feature channel (CGA-tumour)",
    "cga_core_top_channel": "most-weighted feature channel (CGA-core)",
    "cga_core_bottom_channel": "least-weighted feature channel (CGA-core)",
}


def _common_prefix(strings: Sequence[str]) -> str:
    first, last = min(strings), max(strings)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def case_stem(names: Sequence[str]) -> str:
    """The part the sequence names share: ``Brats18_x_t1``, ``Brats18_x_t2`` -> ``Brats18_x``.

    Returns an empty string when the names share no whole word (clinical series names).
    """
    stems = [strip_image_suffix(name) for name in names if name]
    if not stems:
        return ""
    prefix = _common_prefix(stems)
    cut_inside_word = prefix and prefix[-1].isalnum() and any(
        len(stem) > len(prefix) and stem[len(prefix)].isalnum() for stem in stems)
    if cut_inside_word:
        last_separator = max(prefix.rfind(sep) for sep in _SEPARATORS)
        prefix = prefix[:last_separator + 1] if last_separator >= 0 else ""
    prefix = prefix.strip(_SEPARATORS)
    return "" if len(prefix) < 3 or prefix.isdigit() else prefix


def segmentation_name(patient: str | None, volume_names: Sequence[str],
                      reference_name: str) -> str:
    """Name of a new result node: after the patient, else the case, else the T1c volume."""
    base = (patient or "").strip() or case_stem(volume_names) or reference_name
    return f"{base} OMNet tumour"


def run_suffix(unique_name: str, base: str) -> str:
    """What the scene appended to ``base`` to make the result's name unique: ``"_1"`` for
    ``"P OMNet tumour_1"`` (``vtkMRMLScene::GenerateUniqueName`` gives ``base``, then
    ``base_1``, ``base_2``), ``""`` for the first run. Every node of the run ends with it,
    so the results of several runs on one case read apart in the Data module."""
    return unique_name[len(base):] if unique_name.startswith(base) else ""


def result_part_name(segmentation_name: str, suffix: str, part: str) -> str:
    """Name of a node belonging to a result: ``("P OMNet tumour_1", "_1", "lesions")`` ->
    ``"P OMNet tumour lesions_1"``, so the run's suffix ends every name of the run. A
    segmentation renamed since (no longer ending in the suffix) keeps its whole name."""
    base = segmentation_name
    if suffix and segmentation_name.endswith(suffix):
        base = segmentation_name[:-len(suffix)]
    return f"{base} {part}{suffix}"


def attention_title(path: str | os.PathLike) -> str:
    """``.../cga_core_pt.nii.gz`` -> ``core guidance Pt (CGA-core)``; unknown names kept."""
    stem = strip_image_suffix(Path(path).name)
    return ATTENTION_TITLES.get(stem, stem.replace("_", " "))


def attention_window(path: str | os.PathLike) -> tuple[float, float] | None:
    """Fixed display range (min, max) of an attention map: 0-1 for the guidance maps Pt and
    Pn (probabilities), so every map and case reads alike; None (auto) for feature channels.

    Slicer's automatic window spans the 0.1-99.9th percentiles, which for a small tumour is
    a sliver near 0 (Pt) or 1 (Pn) and shows a probability map as if it were binary.
    """
    stem = strip_image_suffix(Path(path).name)
    return (0.0, 1.0) if stem.startswith("cga_") and stem.endswith(("_pt", "_pn")) else None
