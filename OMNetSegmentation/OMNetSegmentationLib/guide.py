"""Texts that tell people what the module needs and how to start (pure)."""

from __future__ import annotations

__all__ = ["DEMO_LOADED", "INPUT_REQUIREMENTS"]

#: Shown above the input selectors.
INPUT_REQUIREMENTS = (
    "Inputs: four 3D MRI sequences of one patient and one session: FLAIR, T1, T1 with "
    "contrast (T1c) and T2. They must show the brain only (skull-stripped, as in BraTS) and "
    "be aligned with each other (co-registered); OMNet resamples them onto the T1c grid and "
    "writes the result there. No data at hand? 'Load demo case' makes a synthetic case on "
    "this computer.")

#: Status once the demo case is in the scene.
DEMO_LOADED = ("Demo case loaded (synthetic, made on this computer): press 'Segment tumor'. "
               "Its true labels are the hidden label map 'demo_seg'.")
