"""Do the selected volumes need skull stripping? Asked before offering the 330 MB HD-BET
install: with skull strip "auto", scans already stripped (BraTS files, a hospital's
pre-processed series) need no extraction, so the question would only be in the way.

Pure: takes voxel arrays (z, y, x) and their spacing (x, y, z, as MRML gives it) and runs
the check the child process runs (:func:`omnet.preparation.brain_extraction.looks_skull_stripped`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

__all__ = ["inputs_look_stripped"]

log = logging.getLogger(__name__)


def inputs_look_stripped(arrays: Mapping[str, tuple[np.ndarray, tuple[float, ...]]]) -> bool:
    """True when every volume already looks skull-stripped; False when any shows skull and
    scalp or cannot be checked (the install is then offered, as before)."""
    import SimpleITK as sitk

    from omnet.preparation.brain_extraction import looks_skull_stripped

    images = {}
    for role, (array, spacing) in arrays.items():
        image = sitk.GetImageFromArray(np.asarray(array))
        image.SetSpacing(tuple(float(s) for s in spacing))
        images[role] = image
    try:
        stripped, why = looks_skull_stripped(images)
    except Exception:  # an empty or odd volume: let the run say what is wrong with it
        log.debug("skull check of the selected volumes failed", exc_info=True)
        return False
    log.info("selected volumes %s: %s", "already skull-stripped" if stripped else
             "need skull stripping", why)
    return bool(stripped)
