"""The network's input: z-scored sequences cropped to the brain's box plus a margin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omnet.preprocessing.crop import BBox, brain_bbox, brain_mask
from omnet.preprocessing.normalize import zscore_nonzero

__all__ = ["CROP_MARGIN", "NetworkInput", "prepare_network_input"]

#: Voxels of background kept around the brain's bounding box.
CROP_MARGIN = 4


@dataclass
class NetworkInput:
    """``volume`` (4, bz, by, bx) float32, its brain mask, and where it lies (``box``)."""

    volume: np.ndarray
    brain: np.ndarray
    box: BBox


def prepare_network_input(images: np.ndarray, margin: int = CROP_MARGIN) -> NetworkInput:
    """Z-score each sequence over its brain voxels, then crop all to the brain's box.

    Raises:
        InputError: no brain voxel at all.
    """
    brain = brain_mask(images)
    box = brain_bbox(brain, margin)
    # every non-zero voxel lies in the box, so z-scoring the crop gives the same values
    volume = zscore_nonzero(images[(slice(None), *box)])
    return NetworkInput(volume=volume, brain=brain[box], box=box)
