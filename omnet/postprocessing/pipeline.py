"""Both post-processing steps in the paper's order, with a summary of what they changed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omnet.labels import BRATS2018, LabelScheme
from omnet.postprocessing.components import remove_small_components
from omnet.postprocessing.relabel import relabel_edema_kmeans

__all__ = ["PostprocessSummary", "postprocess"]


@dataclass(frozen=True)
class PostprocessSummary:
    """Voxels removed as small components and edema voxels relabelled as NCR/NET."""

    removed_voxels: int
    relabelled_voxels: int


def postprocess(labels: np.ndarray, images: np.ndarray,
                scheme: LabelScheme = BRATS2018) -> tuple[np.ndarray, PostprocessSummary]:
    """Small-component removal, then K-means edema relabelling; returns a new label map."""
    cleaned = remove_small_components(labels)
    relabelled = relabel_edema_kmeans(cleaned, images, scheme)
    summary = PostprocessSummary(
        removed_voxels=int(((labels > 0) & (cleaned == 0)).sum()),
        relabelled_voxels=int((relabelled != cleaned).sum()))
    return relabelled, summary
