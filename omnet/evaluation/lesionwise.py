"""Lesion-wise Dice, HD95 and NSD as the BraTS 2025 evaluation computes them (panoptica).

The official BraTS evaluation (``brats-evaluation`` 0.0.10, its glioma configuration
``config_gli.yaml``) runs panoptica with these settings, rebuilt here with panoptica's own
classes so the numbers are panoptica's:

- lesions: connected components of each region (cc3d, 26-connectivity in 3D);
- matching: optimal one-to-one matching (Hungarian, ``MaxBipartiteMatching``) on Dice; any
  overlap (Dice > 1e-6) may match;
- lesion-wise Dice / HD95 / NSD = the mean over the matched lesion pairs (panoptica's
  ``sq_dsc`` / ``sq_hd95`` / ``sq_nsd``); missed and spurious lesions enter only through
  the detection counts (TP, FP, FN) and the detection F1 (``rq``);
- HD95 of a pair: 95th percentile of both directed surface distances pooled; NSD: the
  surface within one voxel (the smallest spacing) of the other surface;
- no matched lesion (TP = 0): Dice 0, NSD 0, HD95 infinite when either side has lesions;
  all three undefined (NaN) when neither side has any.

Only the region masks and the spacing in array order are passed to panoptica (its own file
reader pairs SimpleITK's (z, y, x) array with the (x, y, z) spacing, which only matters on
anisotropic grids). panoptica needs Python >= 3.10; it is the optional extra
``omnet[lesionwise]`` and is imported only when lesion-wise metrics are asked for.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from omnet.errors import OMNetError
from omnet.evaluation.metrics import paired_region_masks
from omnet.labels import BRATS2018, LabelScheme

__all__ = ["LESIONWISE_METRICS", "PANOPTICA_VERSION", "LesionwiseMetrics",
           "lesionwise_label_maps", "lesionwise_region", "require_panoptica"]

#: The panoptica release these definitions were checked against (pinned in pyproject).
PANOPTICA_VERSION = "2.1.7"
#: Per-region fields, in report order.
LESIONWISE_METRICS = ("dice", "hd95", "nsd", "f1", "tp", "fp", "fn")
_MATCHING_THRESHOLD = 1e-6


@dataclass(frozen=True)
class LesionwiseMetrics:
    """Lesion-wise metrics of one region; NaN where undefined, inf for an unmatched HD95."""

    dice: float
    hd95: float
    nsd: float
    f1: float
    tp: int
    fp: int
    fn: int
    ref_lesions: int
    pred_lesions: int

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready: NaN and inf (not valid JSON) become None."""
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v
                for k, v in asdict(self).items()}


@lru_cache(maxsize=1)
def _evaluator():
    """The panoptica evaluator with the BraTS challenge's settings, for one binary region."""
    try:
        from panoptica import (
            ConnectedComponentsInstanceApproximator,
            InputType,
            MaxBipartiteMatching,
            Metric,
            Panoptica_Evaluator,
        )
        from panoptica.utils.citation_reminder import disable_citation_reminder
        from panoptica.utils.edge_case_handling import (
            EdgeCaseHandler,
            EdgeCaseResult,
            MetricZeroTPEdgeCaseHandling,
        )
        from panoptica.utils.segmentation_class import LabelGroup, SegmentationClassGroups
    except ImportError:
        raise OMNetError("lesion-wise metrics need panoptica (Python >= 3.10): "
                         "pip install 'omnet[lesionwise]'") from None
    disable_citation_reminder()

    def zero_tp(value):
        return MetricZeroTPEdgeCaseHandling(
            empty_prediction_result=value, empty_reference_result=value,
            no_instances_result=EdgeCaseResult.NAN, normal=value)

    edge_cases = EdgeCaseHandler(
        listmetric_zeroTP_handling={Metric.DSC: zero_tp(EdgeCaseResult.ZERO),
                                    Metric.NSD: zero_tp(EdgeCaseResult.ZERO),
                                    Metric.HD95: zero_tp(EdgeCaseResult.INF)},
        empty_list_std=EdgeCaseResult.NAN)
    with contextlib.redirect_stdout(io.StringIO()):   # panoptica prints group notes
        groups = SegmentationClassGroups({"region": LabelGroup([1], single_instance=False)})
    return Panoptica_Evaluator(
        expected_input=InputType.SEMANTIC,
        instance_approximator=ConnectedComponentsInstanceApproximator(),
        instance_matcher=MaxBipartiteMatching(matching_metric=Metric.DSC,
                                              matching_threshold=_MATCHING_THRESHOLD),
        edge_case_handler=edge_cases,
        segmentation_class_groups=groups,
        instance_metrics=[Metric.DSC, Metric.NSD, Metric.HD95],
        global_metrics=[Metric.DSC],
    )


def require_panoptica() -> None:
    """Fail early, with the one-line install hint, when panoptica cannot be imported."""
    _evaluator()


def lesionwise_region(pred: np.ndarray, ref: np.ndarray,
                      spacing: Sequence[float]) -> LesionwiseMetrics:
    """Lesion-wise metrics of one binary region (see the module docstring)."""
    pred = np.asarray(pred, dtype=bool)
    ref = np.asarray(ref, dtype=bool)
    if pred.shape != ref.shape:
        raise ValueError(f"mask shapes differ: {pred.shape} vs {ref.shape}")
    if len(spacing) != pred.ndim:
        raise ValueError(f"{len(spacing)} spacing values for a {pred.ndim}-D mask")
    evaluator = _evaluator()
    with contextlib.redirect_stdout(io.StringIO()):
        result = evaluator.evaluate(pred.astype(np.uint8), ref.astype(np.uint8),
                                    voxelspacing=tuple(float(s) for s in spacing),
                                    verbose=False)["region"]
    values = result.to_dict(True)
    return LesionwiseMetrics(
        dice=float(values["sq_dsc"]), hd95=float(values["sq_hd95"]),
        nsd=float(values["sq_nsd"]), f1=float(values["rq"]), tp=int(values["tp"]),
        fp=int(values["fp"]), fn=int(values["fn"]),
        ref_lesions=int(values["n_ref_instances"]),
        pred_lesions=int(values["n_pred_instances"]))


def lesionwise_label_maps(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float],
                          pred_scheme: LabelScheme = BRATS2018,
                          ref_scheme: LabelScheme = BRATS2018,
                          ) -> dict[str, LesionwiseMetrics]:
    """Lesion-wise metrics of the whole tumour, tumour core and enhancing tumour."""
    return {name: lesionwise_region(p, r, spacing)
            for name, (p, r) in paired_region_masks(pred, ref, pred_scheme, ref_scheme).items()}
