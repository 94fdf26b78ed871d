"""The paper's two post-processing steps in its order, then the scant-enhancing rule, with a
summary of what they changed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omnet.labels import BRATS2018, LabelScheme
from omnet.postprocessing.components import remove_small_components
from omnet.postprocessing.enhancing import drop_scant_enhancing
from omnet.postprocessing.relabel import relabel_edema_kmeans

__all__ = ["PostprocessSummary", "postprocess"]


@dataclass(frozen=True)
class PostprocessSummary:
    """Voxels removed as small components, edema voxels relabelled as NCR/NET, and scant
    enhancing voxels relabelled as necrotic core."""

    removed_voxels: int
    relabelled_voxels: int
    enhancing_dropped_voxels: int = 0


def postprocess(labels: np.ndarray, images: np.ndarray,
                scheme: LabelScheme = BRATS2018) -> tuple[np.ndarray, PostprocessSummary]:
    """Small-component removal, then K-means edema relabelling (the paper's), then a scant
    enhancing tumour dropped (:mod:`omnet.postprocessing.enhancing`); a new label map."""
    cleaned = remove_small_components(labels)
    relabelled = relabel_edema_kmeans(cleaned, images, scheme)
    final = drop_scant_enhancing(relabelled, scheme)
    summary = PostprocessSummary(
        removed_voxels=int(((labels > 0) & (cleaned == 0)).sum()),
        relabelled_voxels=int((relabelled != cleaned).sum()),
        enhancing_dropped_voxels=int((final != relabelled).sum()))
    return final, summary
