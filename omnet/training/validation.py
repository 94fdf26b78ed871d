"""Validation during training: segment each validation case with the inference path of
``omnet segment`` and measure Dice of the whole tumour, tumour core and enhancing tumour.

The cached validation volumes are already cropped and z-scored exactly as ``omnet segment``
prepares a case, so the validator starts at the network prediction + fusion step.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import numpy as np
from torch import nn

from omnet.errors import Cancelled
from omnet.evaluation.metrics import dice, region_masks
from omnet.labels import EDEMA, ENHANCING, NECROTIC, LabelScheme
from omnet.training.sampling import TrainingCase

__all__ = ["CLASS_SCHEME", "Predictor", "make_validator", "mean_dice", "region_dice",
           "segment_predictor"]

log = logging.getLogger(__name__)

#: The network's own classes read as a label scheme, so evaluation regions apply directly.
CLASS_SCHEME = LabelScheme("network-classes", necrotic=NECROTIC, edema=EDEMA,
                           enhancing=ENHANCING)
#: (network, normalised images (4, z, y, x)) -> predicted network classes (z, y, x).
Predictor = Callable[[nn.Module, np.ndarray], np.ndarray]


def region_dice(predicted: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Dice of the three BraTS regions between two maps of network classes."""
    pred = region_masks(predicted, CLASS_SCHEME)
    ref = region_masks(reference, CLASS_SCHEME)
    return {name: float(dice(pred[name], ref[name])) for name in ref}


def mean_dice(per_case: Sequence[dict[str, float]]) -> dict[str, float]:
    """Average the per-region Dice over cases."""
    if not per_case:
        return {}
    return {k: float(np.mean([d[k] for d in per_case])) for k in per_case[0]}


def segment_predictor(mode: str = "fast", precision: str = "auto",
                      stop: threading.Event | None = None) -> Predictor:
    """The network + fusion stages of ``omnet segment`` (tiling of ``mode``, the decisions
    stitched and fused by the paper's rules, the same calls) on an already normalised,
    cropped volume. The post-processing is left out: validation measures what the network
    learnt. ``stop`` ends a prediction within seconds (:class:`Cancelled`)."""
    from omnet.inference.fusion import fused_classes
    from omnet.inference.model_source import resolve_model
    from omnet.inference.predict import TilingSettings, predict_crop
    from omnet.preprocessing.crop import brain_mask

    settings = TilingSettings(mode=mode)

    def predict(model: nn.Module, images: np.ndarray) -> np.ndarray:
        device = next(model.parameters()).device
        run = predict_crop(images, brain_mask(images), resolve_model(model, device), device,
                           precision, settings, with_probabilities=False, cancel=stop)
        return fused_classes(run.outputs)

    return predict


def make_validator(cases: Sequence[TrainingCase], predictor: Predictor, max_cases: int = 0,
                   stop: threading.Event | None = None) -> Callable[[nn.Module],
                                                                    dict[str, float]]:
    """A callable that segments (the first ``max_cases`` of) ``cases`` and returns the mean
    Dice per region; ``stop`` ends it before the next case (:class:`Cancelled`)."""
    chosen = list(cases)[:max_cases] if max_cases > 0 else list(cases)

    def validate(model: nn.Module) -> dict[str, float]:
        results = []
        for case in chosen:
            if stop is not None and stop.is_set():
                raise Cancelled("validation stopped by request")
            images = np.asarray(case.images, dtype=np.float32)
            predicted = predictor(model, images)
            results.append(region_dice(predicted, np.asarray(case.classes)))
            log.debug("validation %s: %s", case.case_id, results[-1])
        return mean_dice(results)

    return validate
