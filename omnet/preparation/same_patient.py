"""Are skull-stripped series on one grid one patient's? A warning, not a refusal.

Pre-processing tools (BraTS, BrainLesion) co-register a patient's four series onto one atlas
grid and strip them with one brain mask, so their brain outlines agree almost exactly. A
series of another patient, picked by mistake on that same grid, passes every geometric
check but has another outline: the brains differ in shape even after atlas registration.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk

from omnet.data.geometry import same_grid
from omnet.data.naming import SHORT_TITLES
from omnet.preprocessing.crop import BBox, brain_bbox

__all__ = ["SAME_PATIENT_OUTLINE_DICE", "other_patient_suspects", "outline_agreement",
           "suspects_text"]

log = logging.getLogger(__name__)

#: Dice between a series' brain outline and the reference's, where the bounding boxes of
#: their tissue overlap (so neither a series nor a reference covering part of the head is
#: penalised). The 34 BraTS cases: 0.983 or more within a patient (FLAIR, T1, T2 against
#: T1c), 0.957 at most between two patients (1,122 pairs); the BrainLesion outputs of two
#: TCGA patients: 0.999; FG-6692's raw series, each stripped by its own HD-BET run: 0.976.
SAME_PATIENT_OUTLINE_DICE = 0.97


def _shared_box(first: BBox, second: BBox) -> BBox:
    """Where two bounding boxes overlap (empty along an axis where they lie apart)."""
    return tuple(slice(max(a.start, b.start), min(a.stop, b.stop))  # type: ignore[return-value]
                 for a, b in zip(first, second))


def outline_agreement(images: Mapping[str, sitk.Image], reference_role: str,
                      transforms: Mapping[str, sitk.Transform | None]) -> dict[str, float]:
    """Role -> Dice of its tissue (non-zero voxels) with the reference's, for each series
    taken as it was written on the reference's grid (no transform); others are left out,
    since series stripped and registered apart need not share an outline."""
    reference = images[reference_role]
    inside = sitk.GetArrayViewFromImage(reference) != 0
    agreement = {}
    for role, image in images.items():
        if role == reference_role or transforms.get(role) is not None:
            continue
        if not same_grid(image, reference):
            continue
        tissue = sitk.GetArrayViewFromImage(image) != 0
        if not tissue.any() or not inside.any():
            continue
        box = _shared_box(brain_bbox(tissue), brain_bbox(inside))
        own, theirs = tissue[box], inside[box]
        shared = 2 * np.count_nonzero(own & theirs)
        total = np.count_nonzero(own) + np.count_nonzero(theirs)  # 0: the boxes lie apart
        agreement[role] = round(shared / total, 4) if total else 0.0
    return agreement


def other_patient_suspects(agreement: Mapping[str, float], reference_role: str,
                           case_id: str | None = None) -> list[str]:
    """The series whose outline is unlike the reference's, each logged as a warning (named
    with ``case_id`` where several cases are read, as in training)."""
    suspects = [role for role, dice in agreement.items() if dice < SAME_PATIENT_OUTLINE_DICE]
    for role in suspects:
        log.warning("%s%s: its brain outline matches the %s's at Dice %.2f only (one "
                    "patient's series: %.2f or more); check that it is this patient's series",
                    f"{case_id}: " if case_id else "", SHORT_TITLES.get(role, role),
                    SHORT_TITLES.get(reference_role, reference_role), agreement[role],
                    SAME_PATIENT_OUTLINE_DICE)
    return suspects


def suspects_text(agreement: Mapping[str, float], suspects: list[str]) -> str:
    """The suspects in a few words for a table or a line: "FLAIR (Dice 0.92)"."""
    return ", ".join(f"{SHORT_TITLES.get(role, role)} (Dice {agreement[role]:.2f})"
                     for role in suspects)
