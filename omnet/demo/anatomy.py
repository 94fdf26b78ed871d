"""The tissue map of the synthetic demo head: brain, grey/white matter, CSF and a glioma.

Coordinates are in mm from the grid centre, array axes (z, y, x) = (inferior -> superior,
anterior -> posterior, right/left), as in the BraTS 2018 files. All shapes are ellipsoids
and level sets of smooth random fields, so the map is cheap to make at 1 mm and every
random choice comes from the one generator passed in.

Tumour layout (the BraTS sub-regions): a lumpy core; its outer shell (3-5 mm, at least one
voxel thick) is the enhancing rim, the inside the necrotic core; around the core, reaching
8-18 mm further into the brain, edema. The core never touches normal brain: edema always
covers at least one voxel around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from omnet.demo.fields import centred_coordinates, smooth_noise

__all__ = ["CSF", "EDEMA", "ENHANCING", "GREY_MATTER", "NECROSIS", "OUTSIDE", "TISSUE_NAMES",
           "WHITE_MATTER", "Anatomy", "make_anatomy", "tissues_to_labels"]

OUTSIDE, CSF, GREY_MATTER, WHITE_MATTER, EDEMA, NECROSIS, ENHANCING = range(7)
TISSUE_NAMES = ("outside", "CSF", "grey matter", "white matter", "edema",
                "necrotic core", "enhancing tumour")
#: Brain semi-axes in mm along (z, y, x): a 124 x 172 x 136 mm adult brain.
BRAIN_SEMI_AXES = (62.0, 86.0, 68.0)


@dataclass
class Anatomy:
    """Tissue codes (z, y, x) and where the tumour sits (voxel index of its centre)."""

    tissues: np.ndarray
    tumour_centre: tuple[int, int, int]


def _ellipsoid(z, y, x, centre, semi_axes) -> np.ndarray:
    (cz, cy, cx), (az, ay, ax) = centre, semi_axes
    return ((z - cz) / az) ** 2 + ((y - cy) / ay) ** 2 + ((x - cx) / ax) ** 2 <= 1.0


def _brain(shape, spacing, rng) -> tuple[np.ndarray, np.ndarray]:
    """Brain mask and the approximate depth (mm) of each voxel below the brain surface."""
    z, y, x = centred_coordinates(shape, spacing)
    az, ay, ax = BRAIN_SEMI_AXES
    radius = np.sqrt((z / az) ** 2 + (y / ay) ** 2 + (x / ax) ** 2)
    radius *= 1.0 + 0.035 * smooth_noise(shape, spacing, 40.0, rng)
    depth = (1.0 - radius) * np.float32(np.mean(BRAIN_SEMI_AXES))
    return depth > 0, depth


def _cortex_and_csf(tissues, depth, shape, spacing, rng) -> None:
    """Folded cortex with CSF-filled sulci, the midline fissure, deep grey matter, ventricles."""
    z, y, x = centred_coordinates(shape, spacing)
    brain = tissues != OUTSIDE
    folds = np.abs(smooth_noise(shape, spacing, 9.0, rng))
    patches = smooth_noise(shape, spacing, 20.0, rng)
    midline = x + 1.5 * patches
    fissure_zone = brain & ((z > 12.0) | (np.abs(y) > 45.0))
    grey = brain & ((depth < 2.5) | ((folds < 0.55) & (depth < 16.0)))
    grey |= fissure_zone & (np.abs(midline) < 4.0)
    for side in (-1.0, 1.0):
        grey |= _ellipsoid(z, y, x, (2.0, 10.0, side * 11.0), (9.0, 13.0, 8.0))   # thalamus
        grey |= _ellipsoid(z, y, x, (2.0, -6.0, side * 21.0), (9.0, 13.0, 6.0))   # lentiform
    tissues[grey & brain] = GREY_MATTER
    csf = (folds < 0.12) & (depth < 14.0)
    csf |= (depth < 1.2) & (patches > 0.3)
    csf |= fissure_zone & (np.abs(midline) < 1.0)
    for side in (-1.0, 1.0):
        bend = 11.0 - 0.006 * y**2
        csf |= (((z - bend) / 7.0) ** 2 + (y / 26.0) ** 2 + ((x - side * 7.0) / 5.0) ** 2) <= 1
    csf |= _ellipsoid(z, y, x, (0.0, 4.0, 0.0), (8.0, 10.0, 1.5))  # third ventricle
    tissues[csf & brain] = CSF


def _pick_tumour_centre(depth, shape, spacing, rng, reach_mm) -> tuple[int, int, int]:
    """A random centre in one hemisphere, deep enough for the whole tumour to fit."""
    z, y, x = centred_coordinates(shape, spacing)
    for _ in range(200):
        centre_mm = (rng.uniform(-5, 25), rng.uniform(-35, 35),
                     rng.choice((-1, 1)) * rng.uniform(24, 36))
        index = tuple(int(np.argmin(np.abs(axis.ravel() - c))) for axis, c in zip((z, y, x),
                                                                                  centre_mm))
        if depth[index] > reach_mm:
            return index
    raise RuntimeError("could not place the tumour inside the brain; use a larger grid")


def _tumour(tissues, depth, shape, spacing, rng) -> tuple[int, int, int]:
    """Necrotic core, enhancing rim and edema painted over the normal tissue."""
    core_radius = rng.uniform(13.0, 19.0)
    rim = max(rng.uniform(3.0, 5.0), 1.01 * max(spacing))
    edema_reach = rng.uniform(8.0, 18.0)
    margin = max(3.0, 1.01 * max(spacing))
    centre = _pick_tumour_centre(depth, shape, spacing, rng, 1.4 * core_radius + margin + 4.0)
    half = [int(np.ceil((1.4 * core_radius + 2.1 * edema_reach + margin) / s)) + 2
            for s in spacing]
    box = tuple(slice(max(c - h, 0), min(c + h + 1, n)) for c, h, n in zip(centre, half, shape))
    box_shape = tuple(b.stop - b.start for b in box)
    offsets = [(np.arange(b.start, b.stop) - c) * s for b, c, s in zip(box, centre, spacing)]
    dz, dy, dx = np.meshgrid(*offsets, indexing="ij", sparse=True)
    distance = np.sqrt(dz**2 + dy**2 + dx**2)
    lumps = np.clip(smooth_noise(box_shape, spacing, 14.0, rng), -2.0, 2.0)
    spread = np.clip(smooth_noise(box_shape, spacing, 18.0, rng), -2.0, 2.0)
    local_depth = depth[box]
    brain = tissues[box] != OUTSIDE
    core = (distance < core_radius * (1.0 + 0.15 * lumps)) & (local_depth > 4.0 + margin)
    necrosis = core & (ndimage.distance_transform_edt(core, sampling=spacing) > rim)
    around_core = ndimage.distance_transform_edt(~core, sampling=spacing) <= margin
    # Edema stays in the tumour's hemisphere (x from the grid centre keeps its sign).
    x_mm = (np.arange(box[2].start, box[2].stop) - (shape[2] - 1) / 2.0) * spacing[2]
    same_side = x_mm * np.sign(x_mm[centre[2] - box[2].start]) > 1.0
    edema = brain & ((distance < core_radius + edema_reach * (1.0 + 0.5 * spread))
                     & same_side | around_core) & (local_depth > 1.5)
    region = tissues[box]
    region[edema] = EDEMA
    region[core] = ENHANCING
    region[necrosis] = NECROSIS
    return centre


def make_anatomy(shape: Sequence[int], spacing: Sequence[float],
                 rng: np.random.Generator) -> Anatomy:
    """A head-sized tissue map on a (z, y, x) grid with the given spacing in mm."""
    shape = tuple(int(n) for n in shape)
    spacing = tuple(float(s) for s in spacing)
    brain, depth = _brain(shape, spacing, rng)
    tissues = np.where(brain, np.uint8(WHITE_MATTER), np.uint8(OUTSIDE))
    _cortex_and_csf(tissues, depth, shape, spacing, rng)
    centre = _tumour(tissues, depth, shape, spacing, rng)
    return Anatomy(tissues=tissues, tumour_centre=centre)


def tissues_to_labels(tissues: np.ndarray) -> np.ndarray:
    """BraTS 2018 labels: 1 necrotic core, 2 edema, 4 enhancing tumour, 0 elsewhere."""
    lut = np.zeros(len(TISSUE_NAMES), dtype=np.uint8)
    lut[NECROSIS], lut[EDEMA], lut[ENHANCING] = 1, 2, 4
    return lut[tissues]
