"""Total volumes (mL) of the tumour labels and BraTS regions of a label map.

A neuro-oncologist reads necrosis and edema as well as the three BraTS regions; each is a
voxel count times the voxel volume (the product of the spacings, for any orientation).
"""

from __future__ import annotations

import numpy as np

from omnet.labels import LabelScheme

__all__ = ["VOLUME_NAMES", "region_volumes_ml", "voxel_volume_ml"]

#: Keys of :func:`region_volumes_ml`: the three regions, then the two labels not a region.
VOLUME_NAMES = ("whole", "core", "enhancing", "necrotic", "edema")


def voxel_volume_ml(spacing) -> float:
    """The volume of one voxel in mL (spacing in mm)."""
    return float(np.prod(np.asarray(spacing, dtype=float))) / 1000.0


def region_volumes_ml(labels: np.ndarray, scheme: LabelScheme, spacing) -> dict[str, float]:
    """Volumes in mL of whole tumour, core, enhancing, necrotic and edema (``VOLUME_NAMES``)."""
    voxel_ml = voxel_volume_ml(spacing)
    necrotic, edema, enhancing = (int(np.count_nonzero(labels == value)) * voxel_ml
                                  for value in scheme.values)
    return {"whole": necrotic + edema + enhancing, "core": necrotic + enhancing,
            "enhancing": enhancing, "necrotic": necrotic, "edema": edema}
