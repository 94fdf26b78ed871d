"""Remove small connected tumour components (paper: tau = min(2000, 0.1 * V_max) voxels)."""

from __future__ import annotations

import logging
import os

import numpy as np
from scipy import ndimage

__all__ = ["CONNECTIVITY", "component_sizes", "label_components", "remove_small_components",
           "remove_small_components_file", "small_component_threshold"]

log = logging.getLogger(__name__)

#: Neighbourhood of a connected component: 3 = 26-connected (faces, edges and corners).
CONNECTIVITY = 3


def label_components(mask: np.ndarray, connectivity: int = CONNECTIVITY) -> tuple[np.ndarray, int]:
    """Connected components of a boolean mask: (label array 0..n, n)."""
    structure = ndimage.generate_binary_structure(3, connectivity)
    return ndimage.label(mask, structure=structure)


def component_sizes(components: np.ndarray, count: int) -> np.ndarray:
    """Voxels per component 1..count (index 0 of the result is component 1)."""
    return np.bincount(components.ravel(), minlength=count + 1)[1:]


def small_component_threshold(largest: int, max_size: int = 2000,
                              fraction: float = 0.1) -> float:
    """tau = min(max_size, fraction * largest): components below it are removed."""
    return min(float(max_size), fraction * float(largest))


def remove_small_components(labels: np.ndarray, max_size: int = 2000, fraction: float = 0.1,
                            connectivity: int = CONNECTIVITY) -> np.ndarray:
    """A copy of ``labels`` without tumour components smaller than tau voxels.

    Tumour is every non-zero label (any BraTS scheme); components are 26-connected by
    default. tau = min(``max_size``, ``fraction`` x the largest component's size), so the
    largest component always stays.
    """
    components, count = label_components(labels > 0, connectivity)
    out = labels.copy()
    if count <= 1:
        return out
    sizes = component_sizes(components, count)
    tau = small_component_threshold(int(sizes.max()), max_size, fraction)
    small = np.flatnonzero(sizes < tau) + 1
    if small.size:
        out[np.isin(components, small)] = 0
        log.info("removed %d of %d tumour components below %.0f voxels", small.size, count, tau)
    return out


def remove_small_components_file(labels_path: str | os.PathLike,
                                 output_path: str | os.PathLike, **options) -> None:
    """File version of :func:`remove_small_components`; the output keeps the geometry."""
    from omnet.evaluation.files import read_label_map
    from omnet.postprocessing.labelfiles import write_label_map

    label_map = read_label_map(labels_path)
    write_label_map(remove_small_components(label_map.labels, **options), label_map.geometry,
                    output_path)
