"""BraTS evaluation: metrics on arrays, one case from files, and folders of cases (torch-free).

Layers, each built on the one before: :mod:`~omnet.evaluation.metrics` and
:mod:`~omnet.evaluation.surface` (arrays), :mod:`~omnet.evaluation.files` (one case),
:mod:`~omnet.evaluation.folders` (matched folders), :mod:`~omnet.evaluation.report`
(statistics, table, JSON, CSV). Lesion-wise metrics by named rules:
:mod:`~omnet.evaluation.lesionrules` (``brats2025``: :mod:`~omnet.evaluation.lesionwise`,
``brats2023``: :mod:`~omnet.evaluation.lesionwise_brats2023` with
:mod:`~omnet.evaluation.surfels`).
"""

from omnet.evaluation.metrics import (
    BRATS_HD95_PENALTY_MM,
    METRIC_NAMES,
    EmptyPolicy,
    RegionMetrics,
    dice,
    evaluate_label_maps,
    hd95,
    overlap_counts,
    region_masks,
    region_metrics,
)
from omnet.evaluation.surface import directed_surface_distances, hausdorff_distance

__all__ = ["BRATS_HD95_PENALTY_MM", "METRIC_NAMES", "EmptyPolicy", "RegionMetrics", "dice",
           "directed_surface_distances", "evaluate_label_maps", "hausdorff_distance", "hd95",
           "overlap_counts", "region_masks", "region_metrics"]
