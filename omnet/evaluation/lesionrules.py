"""The named lesion-wise rule sets of ``omnet evaluate --lesion-wise`` (``--lesion-rules``).

``brats2025``: panoptica as the BraTS 2025 evaluation runs it (:mod:`.lesionwise`, needs
the ``omnet[lesionwise]`` extra); ``brats2023``: the BraTS 2023 script's rules
(:mod:`.lesionwise_brats2023`, numpy and scipy only). Each set says which per-region fields it
reports and how reports describe it, so tables, JSON and CSV name the rules they used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from omnet.errors import InputError
from omnet.evaluation.lesionwise import (
    LESIONWISE_METRICS,
    PANOPTICA_VERSION,
    lesionwise_label_maps,
    require_panoptica,
)
from omnet.evaluation.lesionwise_brats2023 import (
    BRATS2023_GLIOMA,
    BRATS2023_METRICS,
    BRATS2023_SOURCE,
    brats2023_label_maps,
)
from omnet.labels import LabelScheme

__all__ = ["DEFAULT_LESION_RULES", "LESION_RULES", "LesionRules", "get_lesion_rules"]


@dataclass(frozen=True)
class LesionRules:
    """One lesion-wise definition: its name, report fields and descriptions, and its code."""

    name: str
    #: Per-region fields reported, in order (attributes of what ``label_maps`` returns).
    metrics: tuple[str, ...]
    #: One line for the text table.
    title: str
    #: What the figures are, written into JSON output beside them.
    definition: str
    #: (pred, ref, spacing, pred_scheme, ref_scheme) -> region name -> metrics.
    label_maps: Callable[[np.ndarray, np.ndarray, Sequence[float], LabelScheme, LabelScheme],
                         dict]
    #: Raises a one-line error with the install hint when a needed package is missing.
    require: Callable[[], None] = lambda: None


_GLI = BRATS2023_GLIOMA

LESION_RULES = {rules.name: rules for rules in (
    LesionRules(
        name="brats2025",
        metrics=LESIONWISE_METRICS,
        title=f"BraTS 2025: panoptica {PANOPTICA_VERSION}",
        definition=(f"BraTS 2025 lesion-wise metrics: panoptica {PANOPTICA_VERSION} with the "
                    "configuration of brats-evaluation 0.0.10 (glioma); null = undefined (no "
                    "lesion on either side) or infinite (HD95, no lesion matched)"),
        label_maps=lesionwise_label_maps, require=require_panoptica),
    LesionRules(
        name="brats2023",
        metrics=BRATS2023_METRICS,
        title=(f"BraTS 2023 glioma: dilation {_GLI.dilation}, reference lesions over "
               f"{_GLI.min_volume_mm3:g} mm3, FN and FP score Dice 0 / HD95 "
               f"{_GLI.hd95_penalty_mm:g} mm"),
        definition=(f"BraTS 2023 lesion-wise metrics ({BRATS2023_SOURCE}, BraTS-GLI): "
                    f"reference lesions grouped by a {_GLI.dilation}-step dilation, predicted "
                    "lesions matched to the dilated reference lesions, reference lesions of "
                    f"{_GLI.min_volume_mm3:g} mm3 or less ignored, each missed or spurious "
                    f"lesion scored Dice 0 and HD95 {_GLI.hd95_penalty_mm:g} mm; ignored = "
                    "reference lesions left out for their size"),
        label_maps=brats2023_label_maps),
)}
DEFAULT_LESION_RULES = "brats2025"


def get_lesion_rules(name: str) -> LesionRules:
    """The rule set called ``name``; one-line InputError for an unknown name."""
    try:
        return LESION_RULES[name]
    except KeyError:
        raise InputError(f"unknown lesion-wise rules {name!r}; choose "
                         f"{', '.join(LESION_RULES)}") from None
