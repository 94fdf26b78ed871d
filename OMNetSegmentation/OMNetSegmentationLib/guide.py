"""Texts that tell people what the module needs and how to start (pure)."""

from __future__ import annotations

__all__ = ["DEMO_LOADED", "INPUT_REQUIREMENTS", "update_question"]

#: Shown above the input selectors.
INPUT_REQUIREMENTS = (
    "Inputs: four 3D MRI sequences of one patient: FLAIR, T1, T1 with contrast (T1c) and "
    "T2, as the scanner wrote them or pre-processed as in BraTS. With the defaults below, "
    "skull and scalp are stripped when present and series not co-registered with the T1c "
    "are registered onto it; the segments lie on the T1c grid (a 1 mm grid when the T1c has "
    "thick slices). No data at hand? 'Load demo case' makes a synthetic case on this "
    "computer.")

#: Status once the demo case is in the scene.
DEMO_LOADED = ("Demo case loaded (synthetic, made on this computer): press 'Segment tumor'. "
               "Its true labels are the hidden label map 'demo_seg'.")


def update_question(name: str) -> str:
    """Asked before a run with 'Update existing' replaces the segments of the result
    ``name``: a clinician who corrected them in Segment Editor would lose the corrections
    without a word (the option is easy to leave on from an earlier run)."""
    return (f"This run replaces the three tumour segments of '{name}' ('Update existing' is "
            "on): changes made to them since, in Segment Editor for example, are lost; its "
            "other segments are kept. Replace them? (Cancel, then turn 'Update existing' "
            "off, to get a new segmentation instead.)")
