"""Step 6, normalise and crop: z-score each sequence over the brain, cut to the brain's box.

Also the last check of the input: a volume whose brain region is far smaller than a brain,
or larger than a head, is not what the network can segment.
"""

from __future__ import annotations

import numpy as np

from omnet.errors import InputError
from omnet.preparation.grids import Cropped
from omnet.preprocessing.crop import brain_bbox
from omnet.preprocessing.normalize import zscore_nonzero

__all__ = ["MAX_BRAIN_ML", "MAX_EXTENT_MM", "MIN_BRAIN_ML", "check_brain",
           "normalise_and_crop"]

#: Less tissue than this is not a brain (an adult brain holds about 1,000-1,700 mL).
MIN_BRAIN_ML = 300.0
#: More than this is not a brain either (the 34 BraTS cases: 1,146-1,721 mL; the largest
#: skulls hold about 2,100 mL), but a head with its skull and scalp, or a failed extraction.
MAX_BRAIN_ML = 2500.0
#: A head is less than this across, along every axis.
MAX_EXTENT_MM = 300.0


def check_brain(brain: np.ndarray, spacing: tuple[float, float, float],
                stripped: bool = False) -> dict:
    """Refuse a brain region too small or too large for a brain, or wider than a head; its
    size. ``stripped``: the region is a brain extraction's (else the inputs' tissue)."""
    voxel_ml = float(np.prod(spacing)) / 1000.0
    ml = float(np.count_nonzero(brain)) * voxel_ml
    if ml < MIN_BRAIN_ML:
        raise InputError(f"these images do not show a brain: only {ml:.0f} mL of tissue "
                         f"(a brain holds about 1,000-1,700 mL)")
    if ml > MAX_BRAIN_ML:
        hint = ("the brain extraction found no brain in them" if stripped else
                "is the skull still on? (--skull-strip on)")
        raise InputError(f"these images do not show a brain: {ml:.0f} mL of tissue, more than "
                         f"a brain holds (about 1,000-1,700 mL); {hint}")
    extent = [float(side.stop - side.start) * s
              for side, s in zip(brain_bbox(brain), reversed(spacing))]
    if max(extent) > MAX_EXTENT_MM:
        raise InputError(f"these images do not show a head: the tissue spans {max(extent):.0f} "
                         f"mm (a head is under {MAX_EXTENT_MM:.0f} mm across)")
    return {"brain_ml": round(ml, 1), "extent_mm": [round(e, 1) for e in extent[::-1]]}


def normalise_and_crop(volume: np.ndarray, brain: np.ndarray,
                       margin: int) -> tuple[np.ndarray, np.ndarray, Cropped, dict]:
    """The z-scored crop (4, bz, by, bx), its brain mask, the record and the report entry."""
    box = brain_bbox(brain, margin)
    cropped = zscore_nonzero(volume[(slice(None), *box)])
    record = Cropped(box=box, full_shape=tuple(brain.shape))
    entry = {"step": "normalise and crop", "normalisation": "z-score per sequence over the brain",
             "crop": [[s.start, s.stop] for s in box]}
    return cropped, brain[box], record, entry
