"""Connected lesions of a region mask, each with its voxel count, volume and RAS centre.

Lesions are connected components with 26-connectivity (voxels touching by a face, an edge
or a corner belong to one lesion), as the BraTS lesion-wise evaluation (cc3d) counts them;
two lesions that touch are one lesion, as RANO measures coalesced lesions together.
Lesions are numbered 1, 2, ... by decreasing volume (ties: the one met first in the array).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from omnet.measurement.diameter import max_diameter_mm
from omnet.measurement.grid import Grid
from omnet.measurement.rano import Bidimensional
from omnet.measurement.volumes import VOLUME_DECIMALS, voxel_volume_ml

__all__ = ["CONNECTIVITY", "Lesion", "find_lesions", "label_lesions", "lesion_voxels",
           "slice_counts"]

CONNECTIVITY = 26


@dataclass(frozen=True)
class Lesion:
    """One connected lesion of a region; ``rano`` only for enhancing lesions.

    ``max_diameter_mm``: the largest 3D distance across the lesion (:mod:`.diameter`)."""

    region: str
    index: int
    voxels: int
    volume_ml: float
    centre_ras_mm: tuple[float, float, float]
    max_diameter_mm: float
    rano: Bidimensional | None = None

    def to_dict(self) -> dict:
        return {"region": self.region, "index": self.index, "voxels": self.voxels,
                "volume_ml": self.volume_ml, "centre_ras_mm": list(self.centre_ras_mm),
                "max_diameter_mm": self.max_diameter_mm,
                "rano": self.rano.to_dict() if self.rano is not None else None}


def label_lesions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Components of ``mask`` (26-connectivity) numbered 1..n by decreasing size."""
    labelled, count = ndimage.label(np.asarray(mask, dtype=bool),
                                    structure=np.ones((3, 3, 3), dtype=bool))
    if count == 0:
        return labelled.astype(np.int32), 0
    sizes = np.bincount(labelled.ravel())[1:]
    order = np.argsort(-sizes, kind="stable")          # old label - 1, largest first
    lut = np.zeros(count + 1, dtype=np.int32)
    lut[order + 1] = np.arange(1, count + 1, dtype=np.int32)
    return lut[labelled], count


def slice_counts(labelled: np.ndarray, axis: int, count: int) -> np.ndarray:
    """How many distinct slices along array ``axis`` each numbered lesion touches (index n
    for lesion n; index 0 unused): RANO's "seen on two or more slices" counts these."""
    found = np.nonzero(labelled)
    size = labelled.shape[axis]
    pairs = np.unique(labelled[found].astype(np.int64) * size + found[axis])
    return np.bincount(pairs // size, minlength=count + 1)


def lesion_voxels(labelled: np.ndarray, count: int) -> list[np.ndarray]:
    """The (N, 3) array indices (z, y, x) of each numbered lesion 1..count, in that order."""
    indices = np.argwhere(labelled > 0)
    numbers = labelled[tuple(indices.T)]
    order = np.argsort(numbers, kind="stable")
    bounds = np.searchsorted(numbers[order], np.arange(1, count + 2))
    return [indices[order[bounds[n]:bounds[n + 1]]] for n in range(count)]


def find_lesions(mask: np.ndarray, grid: Grid, region: str,
                 ) -> tuple[list[Lesion], np.ndarray]:
    """The lesions of one region mask (z, y, x) and the array of their numbers."""
    labelled, count = label_lesions(mask)
    voxel_ml = voxel_volume_ml(grid.spacing)
    lesions = []
    for n, indices in enumerate(lesion_voxels(labelled, count), start=1):
        centre = grid.to_ras(indices).mean(axis=0)
        lesions.append(Lesion(region, n, len(indices),
                              round(len(indices) * voxel_ml, VOLUME_DECIMALS),
                              (float(centre[0]), float(centre[1]), float(centre[2])),
                              max_diameter_mm(indices, grid)))
    return lesions, labelled
