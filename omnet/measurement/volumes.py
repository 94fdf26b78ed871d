"""Total volumes (mL) of the tumour labels and BraTS regions of a label map.

A neuro-oncologist reads necrosis and edema as well as the three BraTS regions; each is a
voxel count times the voxel volume (the product of the spacings, for any orientation).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from omnet.labels import LabelScheme

__all__ = ["VOLUME_DECIMALS", "VOLUME_NAMES", "region_volumes_ml", "volumes_from_counts",
           "voxel_volume_ml"]

#: Keys of :func:`region_volumes_ml`: the three regions, then the two labels not a region.
VOLUME_NAMES = ("whole", "core", "enhancing", "necrotic", "edema")
#: Volumes are given to 1 nL (0.001 mm^3, far below any voxel), so that one label map's
#: volumes are the same numbers in every report (``omnet segment --report``, ``omnet measure
#: --json``), free of float noise.
VOLUME_DECIMALS = 6


def voxel_volume_ml(spacing) -> float:
    """The volume of one voxel in mL (spacing in mm)."""
    return float(np.prod(np.asarray(spacing, dtype=float))) / 1000.0


def volumes_from_counts(counts: Mapping[int, int], scheme: LabelScheme,
                        voxel_ml: float) -> dict[str, float]:
    """``VOLUME_NAMES``' volumes in mL from voxel counts per label value, each count times the
    voxel volume to ``VOLUME_DECIMALS``; the regions are the
    scheme's (:meth:`LabelScheme.regions`), so every caller (the Slicer module's voxel counts
    too) sums the same labels the same way."""
    def volume(values: tuple[int, ...]) -> float:
        return round(sum(int(counts.get(value, 0)) for value in values) * voxel_ml,
                     VOLUME_DECIMALS)

    volumes = {region: volume(values) for region, values in scheme.regions().items()}
    volumes.update(necrotic=volume((scheme.necrotic,)), edema=volume((scheme.edema,)))
    return volumes


def region_volumes_ml(labels: np.ndarray, scheme: LabelScheme, spacing) -> dict[str, float]:
    """Volumes in mL of whole tumour, core, enhancing, necrotic and edema (``VOLUME_NAMES``)."""
    counts = {value: int(np.count_nonzero(labels == value)) for value in scheme.values}
    return volumes_from_counts(counts, scheme, voxel_volume_ml(spacing))
