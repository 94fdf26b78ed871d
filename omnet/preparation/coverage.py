"""How much of the brain each sequence's field of view holds, on the canonical grid.

A series with a partial field of view (an axial T2 that stops at the ventricles, a FLAIR
slab over one hemisphere) leaves the network zeros where it has no slices: a tumour there
is read without that contrast, and FLAIR or T2 missing over it loses the edema (a FLAIR over
half of Brats18_2013_2_1's brain took its whole tumour Dice from 0.90 to 0.62). The share
is of the brain, not of the reference's field of view, which also holds air, skull and neck.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk

from omnet.data.naming import ROLE_TITLES, SEQUENCE_ROLES
from omnet.errors import InputError
from omnet.preparation.grids import Grid, resample_array

__all__ = ["MIN_BRAIN_COVERAGE", "PARTIAL_COVERAGE", "brain_coverage", "check_brain_coverage",
           "field_of_view"]

log = logging.getLogger(__name__)

#: A sequence whose slices hold less than this share of the brain cannot be segmented with.
MIN_BRAIN_COVERAGE = 0.75
#: Below this share the report and the ``prepared:`` line say that the coverage is partial.
PARTIAL_COVERAGE = 0.95


def field_of_view(source: Grid, grid: Grid,
                  transform: sitk.Transform | None = None) -> np.ndarray:
    """Which voxels of ``grid`` (z, y, x; 1 inside) a series on ``source`` has slices at,
    after its alignment ``transform``."""
    return resample_array(np.ones(source.shape, dtype=np.uint8), source, grid, nearest=True,
                          transform=transform)


def brain_coverage(images: Mapping[str, sitk.Image],
                   transforms: Mapping[str, sitk.Transform | None], grid: Grid,
                   brain: np.ndarray) -> dict[str, float]:
    """Role -> the share of ``brain`` (z, y, x on ``grid``) inside that sequence's field of
    view, after its alignment transform."""
    total = int(np.count_nonzero(brain))
    shares = {}
    for role in SEQUENCE_ROLES:
        inside = field_of_view(Grid.of(images[role]), grid, transforms.get(role))
        covered = int(np.count_nonzero(inside[brain])) if total else 0
        shares[role] = round(covered / total, 3) if total else 1.0
    return shares


def check_brain_coverage(shares: Mapping[str, float]) -> None:
    """Refuse a sequence whose field of view misses too much of the brain: the tumour may
    lie where the network would see nothing of it; a warning for a partial one."""
    for role, share in shares.items():
        if MIN_BRAIN_COVERAGE <= share < PARTIAL_COVERAGE:
            log.warning("%s covers only %.0f%% of the brain", ROLE_TITLES.get(role, role),
                        100 * share)
        if share < MIN_BRAIN_COVERAGE:
            raise InputError(f"{ROLE_TITLES.get(role, role)}: its slices cover only {share:.0%} "
                             f"of the brain (at least {MIN_BRAIN_COVERAGE:.0%} needed); a "
                             f"tumour outside them cannot be segmented: choose a series "
                             f"that covers the whole head")
