"""Relabel part of the edema as NCR/NET in enhancing-poor tumours (paper Sec. IV-B).

When enhancing tumour is rare overall (vol_ET / vol_WT < 0.1), each connected tumour
component n with vol_ET(n) / vol_WT(n) < 0.05 and vol_ET(n) < 1000 voxels is revisited:
K-means (k = 2) clusters the intensities of its edema voxels, and the cluster with the
lower mean T1c intensity becomes NCR/NET. Only edema voxels change, so the complete
tumour and the enhancing tumour stay as they were.

Features (our choice; the paper says "intensities"): the four z-scored sequences FLAIR, T1,
T1c, T2 of each edema voxel, as the network saw them. Large components are clustered on a
random sample of :data:`MAX_FIT_VOXELS` voxels (fixed seed), then every voxel is assigned.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import numpy as np

from omnet.labels import BRATS2018, LabelScheme
from omnet.postprocessing.components import CONNECTIVITY, component_sizes, label_components

__all__ = ["T1C_CHANNEL", "relabel_edema_kmeans", "relabel_edema_kmeans_file"]

log = logging.getLogger(__name__)

#: Channel of the contrast-enhanced T1 in the (FLAIR, T1, T1c, T2) image stack.
T1C_CHANNEL = 2


#: K-means is fitted on at most this many voxels of a component (then applied to all).
MAX_FIT_VOXELS = 20000


def _relabel_component(features: np.ndarray, t1c: np.ndarray, seed: int) -> np.ndarray:
    """Boolean per voxel: True for the K-means cluster with the lower mean T1c."""
    from sklearn.cluster import KMeans  # imported only when needed: it takes a second

    sample = features
    if len(features) > MAX_FIT_VOXELS:
        rng = np.random.default_rng(seed)
        sample = features[rng.choice(len(features), MAX_FIT_VOXELS, replace=False)]
    kmeans = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(sample)
    clusters = kmeans.predict(features)
    if clusters.min() == clusters.max():
        return np.zeros(len(features), dtype=bool)
    darker = int(np.argmin([t1c[clusters == k].mean() for k in (0, 1)]))
    return clusters == darker


def relabel_edema_kmeans(labels: np.ndarray, images: np.ndarray,
                         scheme: LabelScheme = BRATS2018, overall_ratio: float = 0.1,
                         component_ratio: float = 0.05, max_enhancing: int = 1000,
                         connectivity: int = CONNECTIVITY, seed: int = 0) -> np.ndarray:
    """A copy of ``labels`` with the paper's K-means edema -> NCR/NET relabelling.

    Args:
        labels: label map (z, y, x) in ``scheme``.
        images: (4, z, y, x) z-scored sequences FLAIR, T1, T1c, T2 on the same grid.
        scheme: the label values of NCR/NET, edema and enhancing tumour.
        overall_ratio, component_ratio, max_enhancing: the paper's thresholds.
        connectivity: neighbourhood of a component (3 = 26-connected).
        seed: K-means initialisation seed (results are reproducible).
    """
    if images.shape[1:] != labels.shape or images.shape[0] <= T1C_CHANNEL:
        raise ValueError(f"images {images.shape} do not match labels {labels.shape}")
    out = labels.copy()
    tumour = labels > 0
    whole = int(tumour.sum())
    enhancing = labels == scheme.enhancing
    if whole == 0 or enhancing.sum() / whole >= overall_ratio:
        return out
    components, count = label_components(tumour, connectivity)
    sizes = component_sizes(components, count)
    enhancing_sizes = np.bincount(components[enhancing], minlength=count + 1)[1:]
    edema = labels == scheme.edema
    changed = 0
    for index in range(count):
        size, et = int(sizes[index]), int(enhancing_sizes[index])
        if not (et / size < component_ratio and et < max_enhancing):
            continue
        voxels = np.nonzero((components == index + 1) & edema)
        if len(voxels[0]) < 2:
            continue
        features = images[(slice(None), *voxels)].T.astype(np.float64)
        darker = _relabel_component(features, features[:, T1C_CHANNEL], seed)
        out[tuple(v[darker] for v in voxels)] = scheme.necrotic
        changed += int(darker.sum())
    if changed:
        log.info("K-means relabelled %d edema voxels as NCR/NET", changed)
    return out


def relabel_edema_kmeans_file(labels_path: str | os.PathLike,
                              sequences: str | os.PathLike | Mapping[str, object],
                              output_path: str | os.PathLike,
                              scheme: LabelScheme | str | None = None, **options) -> None:
    """File version: a label map plus its case (folder or role -> path) to a new label map.

    The sequences are resampled onto the T1c grid and z-scored as for the network; the
    label map must lie on that grid (it does when ``omnet segment`` wrote it).
    """
    from omnet.data.discovery import find_case_files
    from omnet.data.geometry import same_grid
    from omnet.data.imageio import load_case
    from omnet.errors import GeometryError
    from omnet.evaluation.files import read_label_map
    from omnet.postprocessing.labelfiles import write_label_map
    from omnet.preprocessing.normalize import zscore_nonzero

    label_map = read_label_map(labels_path, scheme.name if isinstance(scheme, LabelScheme)
                               else scheme)
    case_input = (find_case_files(sequences) if isinstance(sequences, (str, os.PathLike))
                  else sequences)
    case = load_case(case_input)
    if not same_grid(label_map.geometry.image_of(label_map.labels), case.reference):
        raise GeometryError(f"{os.fspath(labels_path)} is not on the grid of the case's T1c")
    relabelled = relabel_edema_kmeans(label_map.labels, zscore_nonzero(case.images),
                                      label_map.scheme, **options)
    write_label_map(relabelled, label_map.geometry, output_path)
