"""Lesion-wise Dice and HD95 by the BraTS 2023 rules (numpy and scipy only; no panoptica).

The rules of the official BraTS 2023 script (``metrics.py`` of rachitsaluja/BraTS-2023-Metrics,
commit 43c9052, Oct 2023), for one binary region and the glioma (BraTS-GLI) parameters:

- reference lesions: the reference mask is dilated (``dilation`` steps of the 3 x 3 x 3 cross
  without corners, 18-connectivity) and split into connected components (26-connectivity);
  the reference voxels inside one dilated component form one lesion, so lesions with a gap
  of up to twice the dilation (6 voxels along an axis) between them count as one;
- predicted lesions: the connected components of the prediction (26-connectivity), any size;
- a predicted lesion belongs to every reference lesion whose own dilation it touches; a
  reference lesion's Dice and HD95 are taken against the union of its predicted lesions
  (whole components), HD95 by :mod:`omnet.evaluation.surfels`; no predicted lesion: Dice 0,
  HD95 = the penalty (374 mm);
- reference lesions of ``min_volume_mm3`` or less (voxels x voxel volume) are left out of the
  scores and counts, and the predicted lesions touching them are not false positives;
- every predicted lesion that touches no reference lesion is a false positive and adds Dice 0
  and HD95 374 mm; the lesion-wise score is the mean over the kept reference lesions and the
  false positives; with neither (nothing to score): Dice 1, HD95 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from omnet.evaluation.metrics import paired_region_masks
from omnet.evaluation.surfels import robust_hausdorff, surfel_distances
from omnet.labels import BRATS2018, LabelScheme

__all__ = ["BRATS2023_GLIOMA", "BRATS2023_METRICS", "BRATS2023_SOURCE", "Brats2023Metrics",
           "Brats2023Parameters", "brats2023_label_maps", "brats2023_region",
           "reference_lesions"]

#: The script these rules follow (read for its rules; none of its code is used).
BRATS2023_SOURCE = "rachitsaluja/BraTS-2023-Metrics metrics.py, commit 43c9052 (Oct 2023)"
#: Per-region fields, in report order.
BRATS2023_METRICS = ("dice", "hd95", "tp", "fp", "fn", "ignored")
#: Dilation steps: 3 x 3 x 3 cross without its corners (scipy rank 3, connectivity 2).
_DILATION_STEP = ndimage.generate_binary_structure(3, 2)
_CONNECTIVITY_26 = np.ones((3, 3, 3), dtype=bool)


@dataclass(frozen=True)
class Brats2023Parameters:
    """One challenge's settings of the BraTS 2023 script."""

    dilation: int = 3
    min_volume_mm3: float = 50.0
    hd95_penalty_mm: float = 374.0

    def __post_init__(self) -> None:
        if self.dilation < 0:
            raise ValueError(f"dilation must be >= 0, got {self.dilation}")
        if not (math.isfinite(self.min_volume_mm3) and self.min_volume_mm3 >= 0):
            raise ValueError(f"min_volume_mm3 must be >= 0, got {self.min_volume_mm3}")
        if not (math.isfinite(self.hd95_penalty_mm) and self.hd95_penalty_mm >= 0):
            raise ValueError(f"hd95_penalty_mm must be >= 0, got {self.hd95_penalty_mm}")


#: BraTS-GLI (adult glioma) 2023: dilation 3, lesions over 50 mm³. The script's other
#: challenges: SSA and PED as glioma, MEN dilation 1, MET dilation 1 and 2 mm³.
BRATS2023_GLIOMA = Brats2023Parameters()


@dataclass(frozen=True)
class Brats2023Metrics:
    """Lesion-wise scores of one region by the BraTS 2023 rules (all finite).

    ``tp`` / ``fn``: kept reference lesions with / without a predicted lesion; ``fp``:
    predicted lesions touching no reference lesion; ``ignored``: reference lesions at or
    under the size threshold; ``ref_lesions`` / ``pred_lesions``: all lesions found.
    """

    dice: float
    hd95: float
    tp: int
    fp: int
    fn: int
    ignored: int
    ref_lesions: int
    pred_lesions: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _grown_box(box: tuple[slice, ...], margin: int, shape: Sequence[int]) -> tuple[slice, ...]:
    return tuple(slice(max(s.start - margin, 0), min(s.stop + margin, n))
                 for s, n in zip(box, shape))


def _union_box(boxes: Sequence[tuple[slice, ...]]) -> tuple[slice, ...]:
    return tuple(slice(min(b[axis].start for b in boxes), max(b[axis].stop for b in boxes))
                 for axis in range(3))


def _dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    # scipy repeats until nothing changes when iterations < 1, so 0 steps is no dilation.
    return ndimage.binary_dilation(mask, _DILATION_STEP, iterations=steps) if steps else mask


def reference_lesions(ref: np.ndarray, dilation: int) -> tuple[np.ndarray, int]:
    """Reference voxels labelled by the connected component of the dilated reference."""
    lesions = np.zeros(ref.shape, dtype=np.int32)
    if not ref.any():
        return lesions, 0
    window = _grown_box(ndimage.find_objects(ref.astype(np.uint8))[0], dilation, ref.shape)
    local = ref[window]
    grown, count = ndimage.label(_dilate(local, dilation), _CONNECTIVITY_26)
    lesions[window] = np.where(local, grown, 0)
    return lesions, int(count)


def brats2023_region(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float],
                     parameters: Brats2023Parameters = BRATS2023_GLIOMA) -> Brats2023Metrics:
    """Lesion-wise Dice and HD95 of one binary 3D region (see the module docstring)."""
    pred = np.asarray(pred, dtype=bool)
    ref = np.asarray(ref, dtype=bool)
    if pred.shape != ref.shape:
        raise ValueError(f"mask shapes differ: {pred.shape} vs {ref.shape}")
    if pred.ndim != 3 or len(spacing) != 3:
        raise ValueError(f"need 3D masks and 3 spacing values, got {pred.ndim}-D and "
                         f"{len(spacing)}")
    spacing = tuple(float(s) for s in spacing)
    voxel_mm3 = spacing[0] * spacing[1] * spacing[2]
    penalty = parameters.hd95_penalty_mm
    ref_lesions, n_ref = reference_lesions(ref, parameters.dilation)
    pred_lesions, n_pred = ndimage.label(pred, _CONNECTIVITY_26)
    ref_boxes = ndimage.find_objects(ref_lesions)
    pred_boxes = ndimage.find_objects(pred_lesions)
    touched = np.zeros(n_pred + 1, dtype=bool)
    scores: list[tuple[float, float]] = []
    tp = fn = ignored = 0
    for label, box in enumerate(ref_boxes, start=1):
        window = _grown_box(box, parameters.dilation, ref.shape)
        lesion = ref_lesions[window] == label
        reach = _dilate(lesion, parameters.dilation)
        found = np.unique(pred_lesions[window][reach])
        found = found[found != 0]
        touched[found] = True
        if np.count_nonzero(lesion) * voxel_mm3 <= parameters.min_volume_mm3:
            ignored += 1
            continue
        if found.size == 0:
            fn += 1
            scores.append((0.0, penalty))
            continue
        tp += 1
        both = _union_box([box, *(pred_boxes[i - 1] for i in found)])
        predicted = np.isin(pred_lesions[both], found)
        reference = ref_lesions[both] == label
        overlap = np.count_nonzero(predicted & reference)
        dice = 2.0 * overlap / (np.count_nonzero(predicted) + np.count_nonzero(reference))
        hd95 = robust_hausdorff(surfel_distances(reference, predicted, spacing), 95.0)
        scores.append((dice, hd95 if math.isfinite(hd95) else penalty))
    fp = int(n_pred - np.count_nonzero(touched[1:]))
    scored = len(scores) + fp
    if scored == 0:
        dice_mean, hd95_mean = 1.0, 0.0
    else:
        dice_mean = sum(d for d, _ in scores) / scored
        hd95_mean = (sum(h for _, h in scores) + fp * penalty) / scored
    return Brats2023Metrics(dice=float(dice_mean), hd95=float(hd95_mean), tp=tp, fp=fp, fn=fn,
                            ignored=ignored, ref_lesions=n_ref, pred_lesions=int(n_pred))


def brats2023_label_maps(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float],
                         pred_scheme: LabelScheme = BRATS2018,
                         ref_scheme: LabelScheme = BRATS2018,
                         parameters: Brats2023Parameters = BRATS2023_GLIOMA,
                         ) -> dict[str, Brats2023Metrics]:
    """BraTS 2023 lesion-wise scores of the whole tumour, tumour core and enhancing tumour."""
    return {name: brats2023_region(p, r, spacing, parameters)
            for name, (p, r) in paired_region_masks(pred, ref, pred_scheme, ref_scheme).items()}
