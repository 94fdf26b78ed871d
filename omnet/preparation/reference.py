"""Step 1, the reference grid: check that every series is a volume, pick the output grid.

A localizer/scout or a 2D series (a few slices, or a slab a few cm thick) cannot be
resampled into a 3D brain; it is refused here, before anything is computed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk

from omnet.data.naming import ROLE_TITLES
from omnet.errors import InputError
from omnet.preparation.grids import Grid

__all__ = ["MIN_EXTENT_MM", "MIN_SLICES", "check_series", "reference_grid"]

#: Fewer slices than this along any axis: a localizer/scout or 2D series, not a volume.
MIN_SLICES = 10
#: A brain volume spans more than this along every axis (an adult brain 120-180 mm).
MIN_EXTENT_MM = 80.0


def check_series(image: sitk.Image, name: str) -> None:
    """Refuse a series too thin to hold a brain: a localizer/scout or a 2D-only series."""
    size = np.asarray(image.GetSize())
    extent = size * np.asarray(image.GetSpacing())
    axis = int(np.argmin(size))
    if size[axis] < MIN_SLICES:
        raise InputError(f"{name}: only {size[axis]} slices; a localizer/scout or 2D series is "
                         "not a 3D volume of the head (choose the full series)")
    thin = int(np.argmin(extent))
    if extent[thin] < MIN_EXTENT_MM:
        raise InputError(f"{name}: covers only {extent[thin]:.0f} mm along one axis; a slab or "
                         "2D series does not hold the whole brain (choose a full head series)")


def reference_grid(images: Mapping[str, sitk.Image],
                   reference_role: str) -> tuple[sitk.Image, dict]:
    """Check every series and return the reference image (its grid is the output's)."""
    for role, image in images.items():
        check_series(image, ROLE_TITLES.get(role, role))
    reference = images[reference_role]
    grid = Grid.of(reference)
    return reference, {"step": "reference grid", "sequence": reference_role,
                       "grid": grid.describe()}
