"""A training case on the grid the network sees at inference (the canonical grid).

``omnet segment`` resamples every case onto the model card's voxel spacing in one fixed
orientation (:mod:`omnet.preparation.canonical`) before it z-scores and crops; a training
case goes through the same functions, so a network trained on 0.5 mm, 3 mm-slice or
sagittally stored scans learns at the scale and orientation it is used at. Labels follow by
nearest neighbour. The grid is cut to the scan's own extent: beyond it inference pads with
zeros (background) as the patch sampler does, and a case already on that lattice (BraTS:
1 mm, LPS) is then copied voxel for voxel, its cache unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from omnet.data.imageio import RawCase, whole_labels
from omnet.preparation.background import zero_background
from omnet.preparation.canonical import canonical_grid, to_canonical
from omnet.preparation.coverage import brain_coverage, check_brain_coverage, field_of_view
from omnet.preparation.crop import normalise_and_crop
from omnet.preparation.grids import Grid, resample_array, same_lattice
from omnet.preparation.same_patient import outline_agreement
from omnet.preparation.settings import PrepareSettings
from omnet.preprocessing.crop import BBox, brain_bbox

__all__ = ["CanonicalCase", "grid_change", "grid_text", "on_canonical_grid"]


@dataclass
class CanonicalCase:
    """A case's network input and labels on the canonical grid, and how it got there.

    Attributes:
        volume: (4, bz, by, bx) float32 z-scored FLAIR, T1, T1c, T2, cropped to the brain.
        brain: (bz, by, bx) bool brain mask of the crop.
        labels: (bz, by, bx) the label map's values over the crop.
        labels_outside: the label map's labelled voxels (its own) that the crop leaves
            out: beyond the scans' extent (the grid's cut) or outside the brain's box.
        label_values: the label map's values (whole numbers), over all of it.
        grid: the canonical grid cut to the scan's extent (``box`` lies on it).
        box: the crop on ``grid``.
        source: the reference sequence's own grid.
        resampled: the sequences (and ``seg``) interpolated rather than copied.
        outline_dice: each series' brain outline against the reference's
            (:func:`omnet.preparation.same_patient.outline_agreement`, background at zero).
    """

    volume: np.ndarray
    brain: np.ndarray
    labels: np.ndarray
    labels_outside: int
    label_values: list[int]
    grid: Grid
    box: BBox
    source: Grid
    resampled: list[str]
    outline_dice: dict[str, float]


def grid_text(grid: Grid) -> str:
    """``0.8 x 0.8 x 3 mm RAS``: a grid's spacing (x y z) and nearest orientation code."""
    code = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(grid.direction)
    return " x ".join(f"{s:.3g}" for s in grid.spacing) + f" mm {code}"


def grid_change(source: Grid, grid: Grid, resampled: list[str]) -> str | None:
    """What bringing a case from ``source`` onto ``grid`` does, for people (None: nothing,
    the case is on the network's grid already)."""
    before, after = grid_text(source), grid_text(grid)
    if resampled:
        return f"resampled {before} -> {after}" + (" (off its lattice)" * (before == after))
    if before != after:
        return f"reoriented {before} -> {after}, voxels copied"
    return None


def _sub_grid(grid: Grid, box: BBox) -> Grid:
    """The part of ``grid`` inside ``box`` (z, y, x slices), on the same lattice."""
    start = np.array([side.start for side in reversed(box)], dtype=float)
    shift = np.reshape(grid.direction, (3, 3)) @ (start * np.asarray(grid.spacing))
    return Grid(tuple(side.stop - side.start for side in reversed(box)), grid.spacing,
                tuple(float(o) for o in np.add(grid.origin, shift)), grid.direction)


def _scan_extent(reference: sitk.Image, grid: Grid) -> Grid:
    """``grid`` cut to the voxels the reference scan covers (it is zero beyond them)."""
    return _sub_grid(grid, brain_bbox(field_of_view(Grid.of(reference), grid)))


def on_canonical_grid(raw: RawCase, settings: PrepareSettings | None = None) -> CanonicalCase:
    """Resample ``raw`` (sequences and label map, stripped and co-registered, as training
    data are) onto the canonical grid of ``settings.spacing``, then z-score and crop as
    :func:`omnet.preparation.stage.prepare` does.

    Raises:
        InputError: a sequence whose field of view misses the brain, no brain voxel, or
            label values that are not whole numbers.
    """
    settings = settings or PrepareSettings()
    images, _ = zero_background(raw.images)
    reference = images[settings.reference_role]
    foreground = sitk.GetArrayViewFromImage(reference) != 0
    full = canonical_grid(reference, foreground, settings.spacing, settings.grid_margin_mm)
    grid = _scan_extent(reference, full)
    volume, brain, _, entry = to_canonical(images, {}, reference, grid, None, {},
                                           settings.interpolation)
    check_brain_coverage(brain_coverage(images, {}, grid, brain))
    volume, brain_crop, cropped, _ = normalise_and_crop(volume, brain, settings.crop_margin)
    seg = whole_labels(sitk.GetArrayFromImage(raw.seg), f"{raw.case_id}: label map")
    labels = resample_array(seg, Grid.of(raw.seg), grid, nearest=True)
    crop = labels[cropped.box]
    kept = field_of_view(_sub_grid(grid, cropped.box), Grid.of(raw.seg)).astype(bool)
    outside = int(np.count_nonzero(seg[~kept]))
    resampled = list(entry["interpolated"])
    if not same_lattice(Grid.of(raw.seg), grid):
        resampled.append("seg")
    values = sorted(int(v) for v in np.unique(seg))
    return CanonicalCase(volume, brain_crop, crop, outside, values, grid, cropped.box,
                         Grid.of(reference), resampled,
                         outline_agreement(images, settings.reference_role, {}))
