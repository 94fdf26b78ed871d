"""Step 5, canonical grid: every sequence resampled once onto the network's grid.

The grid has the model card's spacing (1 mm for BraTS) and one fixed orientation: axes
along x = left, y = posterior, z = superior (LPS, ITK's frame; BraTS volumes as ITK reads
them), so the network sees the head as it was trained, whatever the scanner's slice
orientation, order or obliquity. It bounds the reference's head (the brain mask, else its
non-zero voxels) plus a margin, and its voxel centres are placed on the reference's lattice,
so a BraTS volume lands on its own voxels without interpolation. Each sequence goes from
its own grid, through its alignment transform, straight onto this grid (one interpolation);
the brain mask and the N4 fields come over from the reference grid.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk

from omnet.data.naming import SEQUENCE_ROLES
from omnet.preparation.grids import Grid, Resampled, resample_array, same_lattice
from omnet.preprocessing.crop import brain_bbox

__all__ = ["CANONICAL_DIRECTION", "canonical_grid", "to_canonical"]

#: Identity direction cosines in ITK's LPS frame: x -> left, y -> posterior, z -> superior.
CANONICAL_DIRECTION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def _box_corners(reference: sitk.Image, foreground: np.ndarray) -> np.ndarray:
    """Physical corners (mm) of the voxel box around ``foreground`` (z, y, x), voxel edges
    included."""
    if not foreground.any():
        foreground = np.ones(foreground.shape, dtype=bool)
    box = brain_bbox(foreground)
    lo = [side.start - 0.5 for side in reversed(box)]
    hi = [side.stop - 0.5 for side in reversed(box)]
    corners = [(x, y, z) for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
    return np.array([reference.TransformContinuousIndexToPhysicalPoint(tuple(map(float, c)))
                     for c in corners])


def canonical_grid(reference: sitk.Image, foreground: np.ndarray,
                   spacing: tuple[float, float, float], margin_mm: float) -> Grid:
    """The axis-aligned grid of ``spacing`` around ``foreground`` (z, y, x on the reference
    grid) plus ``margin_mm``, its voxel centres on the reference's lattice."""
    corners = _box_corners(reference, foreground)
    anchor = np.asarray(reference.GetOrigin())
    step = np.asarray(spacing, dtype=float)
    first = np.floor((corners.min(axis=0) - margin_mm - anchor) / step)
    last = np.ceil((corners.max(axis=0) + margin_mm - anchor) / step)
    size = (last - first + 1).astype(int)
    origin = anchor + first * step
    return Grid(tuple(int(s) for s in size), tuple(float(s) for s in step),
                tuple(float(o) for o in origin), CANONICAL_DIRECTION)


def to_canonical(images: Mapping[str, sitk.Image],
                 transforms: Mapping[str, sitk.Transform | None], reference: sitk.Image,
                 grid: Grid, brain: sitk.Image | None,
                 log_fields: Mapping[str, sitk.Image],
                 interpolation: str = "linear") -> tuple[np.ndarray, np.ndarray, Resampled,
                                                          dict]:
    """(4, z, y, x) float32 sequences on ``grid`` (zero outside the brain), the brain mask
    (bool; the extracted brain, else where any sequence is non-zero), and the record.
    ``interpolation``: ``linear`` or ``bspline`` (cubic: sharper, but about 50 times
    slower in SimpleITK); masks and fields are always linear."""
    ref_grid = Grid.of(reference)
    interpolator = sitk.sitkBSpline if interpolation == "bspline" else sitk.sitkLinear
    volume = np.zeros((len(SEQUENCE_ROLES), *grid.shape), dtype=np.float32)
    inside = np.zeros(grid.shape, dtype=bool)
    for index, role in enumerate(SEQUENCE_ROLES):
        image = images[role]
        source = Grid.of(image)
        array = sitk.GetArrayViewFromImage(image)
        transform = transforms.get(role)
        volume[index] = resample_array(np.asarray(array, dtype=np.float32), source, grid,
                                       transform=transform, interpolator=interpolator)
        if brain is None:
            present = resample_array((array != 0).astype(np.float32), source, grid,
                                     transform=transform)
            inside |= present >= 0.5
        if role in log_fields:
            field = resample_array(sitk.GetArrayFromImage(log_fields[role]), ref_grid, grid)
            volume[index] /= np.exp(field)
    if brain is not None:
        mask = sitk.GetArrayViewFromImage(brain).astype(np.float32)
        inside = resample_array(mask, ref_grid, grid) >= 0.5
    volume[:, ~inside] = 0.0
    record = {"step": "canonical grid", "grid": grid.describe(),
              "orientation": "LPS axis-aligned", "interpolation": interpolation,
              "interpolated": [role for role in SEQUENCE_ROLES
                               if transforms.get(role) is not None
                               or not same_lattice(Grid.of(images[role]), grid)]}
    return volume, inside, Resampled(source=ref_grid, target=grid), record
