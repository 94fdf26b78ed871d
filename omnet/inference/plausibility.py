"""Refuse a segmentation that cannot be a glioma's: a whole tumour over half of the brain.

The largest whole tumour among the 34 BraTS cases the model learnt from covers 17 % of its
brain (Brats18_TCIA10_637_1, 232 mL); BraTS's largest are about 30 %. A label map painting
more than half of the brain says the input is not what the network reads (another organ, an
unstripped head the detector missed, a wrong sequence), so it is refused rather than written.
"""

from __future__ import annotations

import numpy as np

from omnet.errors import InputError
from omnet.labels import LabelScheme

__all__ = ["MAX_TUMOUR_SHARE", "check_tumour_share", "tumour_share"]

#: Largest share of the brain's voxels the whole tumour may take (three times the largest
#: of the 34 training cases).
MAX_TUMOUR_SHARE = 0.5


def tumour_share(labels: np.ndarray, brain: np.ndarray, scheme: LabelScheme) -> float:
    """The fraction of the brain's voxels labelled tumour (any of the three labels)."""
    brain_voxels = int(np.count_nonzero(brain))
    if brain_voxels == 0:
        return 0.0
    return float(np.count_nonzero(np.isin(labels, scheme.values) & brain)) / brain_voxels


def check_tumour_share(labels: np.ndarray, brain: np.ndarray, scheme: LabelScheme,
                       own_model: bool = False) -> float:
    """``labels``'s tumour share of ``brain`` (same shape), or an :class:`InputError` when it
    is over :data:`MAX_TUMOUR_SHARE`. ``own_model``: a model file other than the bundled one
    made it, so the error also names the model (a briefly trained network, such as a few
    hundred iterations of ``omnet train --preset quick``, calls tumour almost everywhere)."""
    share = tumour_share(labels, brain, scheme)
    if share > MAX_TUMOUR_SHARE:
        model = (", and that the model (--model) was trained long enough: a briefly trained "
                 "network calls tumour almost everywhere") if own_model else ""
        raise InputError(
            f"the segmentation calls {share:.0%} of the brain tumour (a glioma covers at most "
            "about a third), so it cannot be right and was not written: check that the four "
            "series are this patient's brain MRI, and try --skull-strip on if the head's "
            f"skull and scalp are in them{model}")
    return share
