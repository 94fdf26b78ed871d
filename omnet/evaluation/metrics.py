"""BraTS overlap metrics on arrays: regions, Dice, sensitivity, specificity, PPV, HD95.

Array functions only (no I/O, no torch), fast enough to run inside training validation.
Masks and label maps are numpy arrays of the same shape; ``spacing`` gives the voxel size in
mm along each array axis (for a SimpleITK image that is ``image.GetSpacing()[::-1]``).

Empty-region policy (BraTS convention, see :class:`EmptyPolicy`):

- both prediction and reference empty: Dice 1, sensitivity 1, PPV 1, HD95 0;
- exactly one empty: Dice, sensitivity and PPV 0 (a ratio whose denominator is zero counts
  as a miss), HD95 = the penalty, 373.13 mm by default (the diagonal of the BraTS
  240 x 240 x 155 mm grid).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from omnet.evaluation.surface import hausdorff_distance
from omnet.labels import BRATS2018, REGION_NAMES, LabelScheme

__all__ = ["BRATS_HD95_PENALTY_MM", "BRATS_POLICY", "METRIC_NAMES", "EmptyPolicy",
           "RegionMetrics", "dice", "evaluate_label_maps", "hd95", "overlap_counts",
           "paired_region_masks", "region_masks", "region_metrics"]

#: Diagonal of the BraTS grid, sqrt(240^2 + 240^2 + 155^2) mm: HD95 when one side is empty.
BRATS_HD95_PENALTY_MM = 373.13
METRIC_NAMES = ("dice", "sensitivity", "specificity", "ppv", "hd95")


@dataclass(frozen=True)
class EmptyPolicy:
    """Values used when a region is empty on one or both sides.

    Attributes:
        hd95_penalty_mm: HD95 when exactly one of prediction and reference is empty.
        both_empty_hd95_mm: HD95 when both are empty (a perfect answer).
    """

    hd95_penalty_mm: float = BRATS_HD95_PENALTY_MM
    both_empty_hd95_mm: float = 0.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.hd95_penalty_mm) and self.hd95_penalty_mm >= 0):
            raise ValueError(f"HD95 penalty must be a finite number >= 0, "
                             f"not {self.hd95_penalty_mm}")


#: The default policy: the BraTS conventions above.
BRATS_POLICY = EmptyPolicy()


@dataclass(frozen=True)
class RegionMetrics:
    """The BraTS metrics of one region, plus the voxel counts and volumes they came from."""

    dice: float
    sensitivity: float
    specificity: float
    ppv: float
    hd95: float
    pred_voxels: int
    ref_voxels: int
    pred_ml: float
    ref_ml: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def region_masks(labels: np.ndarray, scheme: LabelScheme = BRATS2018) -> dict[str, np.ndarray]:
    """Boolean masks of the whole tumour, tumour core and enhancing tumour of a label map."""
    return {name: np.isin(labels, values) for name, values in scheme.regions().items()}


def paired_region_masks(pred: np.ndarray, ref: np.ndarray,
                        pred_scheme: LabelScheme = BRATS2018,
                        ref_scheme: LabelScheme = BRATS2018,
                        ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Region name -> (predicted, reference) masks of two label maps of one shape, each read
    with its own label scheme."""
    if pred.shape != ref.shape:
        raise ValueError(f"label map shapes differ: {pred.shape} vs {ref.shape}")
    pred_regions = region_masks(pred, pred_scheme)
    ref_regions = region_masks(ref, ref_scheme)
    return {name: (pred_regions[name], ref_regions[name]) for name in REGION_NAMES}


def overlap_counts(pred: np.ndarray, ref: np.ndarray) -> tuple[int, int, int, int]:
    """True positives, false positives, false negatives and true negatives of two masks."""
    if pred.shape != ref.shape:
        raise ValueError(f"mask shapes differ: {pred.shape} vs {ref.shape}")
    pred = np.asarray(pred, dtype=bool)
    ref = np.asarray(ref, dtype=bool)
    tp = int(np.count_nonzero(pred & ref))
    n_pred = int(np.count_nonzero(pred))
    n_ref = int(np.count_nonzero(ref))
    fp, fn = n_pred - tp, n_ref - tp
    return tp, fp, fn, pred.size - tp - fp - fn


def dice(pred: np.ndarray, ref: np.ndarray) -> float:
    """Dice coefficient 2|P∩R| / (|P| + |R|) of two masks; 1.0 when both are empty."""
    tp, fp, fn, _ = overlap_counts(pred, ref)
    total = 2 * tp + fp + fn
    return 1.0 if total == 0 else 2.0 * tp / total


def hd95(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float],
         policy: EmptyPolicy = BRATS_POLICY) -> float:
    """Hausdorff 95% distance in mm with the empty-region policy applied.

    See :func:`omnet.evaluation.surface.hausdorff_distance` for the exact definition.
    """
    has_pred, has_ref = bool(np.any(pred)), bool(np.any(ref))
    if not has_pred and not has_ref:
        return policy.both_empty_hd95_mm
    if has_pred != has_ref:
        return policy.hd95_penalty_mm
    return hausdorff_distance(pred, ref, spacing, percentile=95.0)


def _ratio(numerator: int, denominator: int, empty_value: float) -> float:
    return empty_value if denominator == 0 else numerator / denominator


def region_metrics(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float],
                   policy: EmptyPolicy = BRATS_POLICY) -> RegionMetrics:
    """All BraTS metrics of one binary region; specificity counts over the whole grid."""
    tp, fp, fn, tn = overlap_counts(pred, ref)
    n_pred, n_ref = tp + fp, tp + fn
    both_empty = n_pred == 0 and n_ref == 0
    voxel_ml = float(np.prod(np.asarray(spacing, dtype=float))) / 1000.0
    return RegionMetrics(
        dice=1.0 if both_empty else 2.0 * tp / (n_pred + n_ref),
        sensitivity=_ratio(tp, n_ref, 1.0 if both_empty else 0.0),
        specificity=_ratio(tn, tn + fp, 1.0),
        ppv=_ratio(tp, n_pred, 1.0 if both_empty else 0.0),
        hd95=hd95(pred, ref, spacing, policy),
        pred_voxels=n_pred, ref_voxels=n_ref,
        pred_ml=n_pred * voxel_ml, ref_ml=n_ref * voxel_ml)


def evaluate_label_maps(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float],
                        pred_scheme: LabelScheme = BRATS2018,
                        ref_scheme: LabelScheme = BRATS2018,
                        policy: EmptyPolicy = BRATS_POLICY) -> dict[str, RegionMetrics]:
    """Metrics of the three BraTS regions (whole, core, enhancing) of two label maps.

    The two maps may use different label schemes; each is read with its own.
    """
    pairs = paired_region_masks(pred, ref, pred_scheme, ref_scheme)
    if len(spacing) != pred.ndim:
        raise ValueError(f"{len(spacing)} spacing values for a {pred.ndim}-D label map")
    return {name: region_metrics(p, r, spacing, policy) for name, (p, r) in pairs.items()}
