"""Attention volumes of the CGA modules, ready to overlay on the input.

For each CGA module (``cga_tumour`` guides task 2 with task 1; ``cga_core`` guides task 3
with task 2) we give the guidance maps Pt and Pn, and the feature channels F_c that the
module weights most and least. Channel weights are the case-level category-specific
channel importance of the paper, m_t[c] = sum_v Pt(v) F_c(v) over the whole case,
L1-normalised; "top" is argmax_c m_t[c] and "bottom" argmin_c m_t[c].
"""

from __future__ import annotations

import numpy as np

__all__ = ["ATTENTION_FILES", "MODULES", "attention_volumes"]

MODULES = ("cga_tumour", "cga_core")
ATTENTION_FILES = tuple(f"{m}_{part}" for m in MODULES
                        for part in ("pt", "pn", "top_channel", "bottom_channel"))


def attention_volumes(stitched: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict]:
    """Volumes (z, y, x) named as :data:`ATTENTION_FILES`, and the chosen channels.

    ``stitched`` holds ``<module>_pt`` / ``<module>_pn`` (1, z, y, x) and ``features``
    (C, z, y, x) as produced by the network predictor.
    """
    features = stitched["features"]
    volumes: dict[str, np.ndarray] = {}
    info: dict[str, dict] = {}
    for module in MODULES:
        pt = stitched[f"{module}_pt"][0]
        volumes[f"{module}_pt"] = pt
        volumes[f"{module}_pn"] = stitched[f"{module}_pn"][0]
        weights = np.tensordot(features, pt, axes=([1, 2, 3], [0, 1, 2])).astype(np.float64)
        weights /= max(np.abs(weights).sum(), 1e-12)
        top, bottom = int(np.argmax(weights)), int(np.argmin(weights))
        volumes[f"{module}_top_channel"] = features[top]
        volumes[f"{module}_bottom_channel"] = features[bottom]
        info[module] = {"top_channel": top, "bottom_channel": bottom,
                        "channel_weights": [round(float(w), 6) for w in weights]}
    return volumes, info
