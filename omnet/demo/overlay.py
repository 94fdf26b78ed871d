"""A PNG of three orthogonal slices through the tumour: four sequences, reference, prediction.

Works for any case (arrays (z, y, x) with the BraTS orientation: z inferior -> superior,
y anterior -> posterior). Uses matplotlib's Agg canvas directly, so no display is needed and
no global pyplot state is touched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from omnet.data.naming import SEQUENCE_ROLES, SHORT_TITLES
from omnet.labels import BRATS2018, LabelScheme
from omnet.utils.atomic import atomic_path

__all__ = ["REGION_COLOURS", "slice_centre", "write_overlay_png"]

#: Colours of the BraTS sub-regions (RGB 0..1): edema green, necrotic core red, enhancing
#: tumour yellow, the colours most BraTS figures use.
REGION_COLOURS = {"necrotic": (0.90, 0.15, 0.15), "edema": (0.20, 0.80, 0.25),
                  "enhancing": (1.00, 0.90, 0.10)}


def slice_centre(*label_maps: np.ndarray | None) -> tuple[int, int, int]:
    """Voxel index of the tumour's centre of mass in the first non-empty label map."""
    for labels in label_maps:
        if labels is not None and np.any(labels):
            return tuple(round(float(c)) for c in np.argwhere(labels > 0).mean(axis=0))
    shape = next(m.shape for m in label_maps if m is not None)
    return tuple(n // 2 for n in shape)


def _views(volume: np.ndarray, centre: Sequence[int]) -> list[np.ndarray]:
    """Axial (anterior up), coronal and sagittal (superior up) slices through ``centre``."""
    z, y, x = centre
    return [volume[z], volume[:, y][::-1], volume[:, :, x][::-1]]


def _aspects(spacing_zyx: Sequence[float]) -> list[float]:
    sz, sy, sx = spacing_zyx
    return [sy / sx, sz / sx, sz / sy]


def _label_rgba(labels: np.ndarray, scheme: LabelScheme) -> np.ndarray:
    rgba = np.zeros((*labels.shape, 4), dtype=np.float32)
    for name, value in (("edema", scheme.edema), ("necrotic", scheme.necrotic),
                        ("enhancing", scheme.enhancing)):
        mask = labels == value
        rgba[mask, :3] = REGION_COLOURS[name]
        rgba[mask, 3] = 0.55
    return rgba


def _window(volume: np.ndarray) -> tuple[float, float]:
    inside = volume[volume > 0]
    if inside.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(inside, (0.5, 99.5))
    return float(low), float(max(high, low + 1e-6))


def _crop(views: list[np.ndarray], masks: list[np.ndarray]) -> list[tuple[slice, slice]]:
    boxes = []
    for mask in masks:
        rows, cols = np.nonzero(mask)
        if rows.size == 0:
            boxes.append((slice(None), slice(None)))
            continue
        pad = 4
        boxes.append((slice(max(rows.min() - pad, 0), rows.max() + pad + 1),
                      slice(max(cols.min() - pad, 0), cols.max() + pad + 1)))
    return boxes


def write_overlay_png(path: str | os.PathLike, images: Mapping[str, np.ndarray],
                      spacing_zyx: Sequence[float], reference: np.ndarray | None = None,
                      prediction: np.ndarray | None = None, *,
                      centre: Sequence[int] | None = None,
                      reference_scheme: LabelScheme = BRATS2018,
                      prediction_scheme: LabelScheme = BRATS2018,
                      title: str = "", dpi: int = 80) -> Path:
    """Write the overlay figure; rows axial, coronal, sagittal; columns the sequences, then
    the reference and the prediction drawn over FLAIR (a missing one gets a note)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    roles = [r for r in SEQUENCE_ROLES if r in images]
    centre = tuple(centre) if centre is not None else slice_centre(reference, prediction)
    backdrop = images[roles[0]]
    boxes = _crop(_views(backdrop, centre), [v > 0 for v in _views(backdrop, centre)])
    aspects = _aspects(spacing_zyx)
    columns = [*roles, "reference", "prediction"]
    fig = Figure(figsize=(2.3 * len(columns), 7.4), layout="constrained")
    axes = fig.subplots(3, len(columns))
    row_names = (f"axial z={centre[0]}", f"coronal y={centre[1]}", f"sagittal x={centre[2]}")
    overlays = {"reference": (reference, reference_scheme),
                "prediction": (prediction, prediction_scheme)}
    for col, name in enumerate(columns):
        grey = images.get(name, backdrop)
        low, high = _window(grey)
        labels, scheme = overlays.get(name, (None, None))
        label_views = _views(labels, centre) if labels is not None else [None] * 3
        for row, (view, box) in enumerate(zip(_views(grey, centre), boxes)):
            ax = axes[row, col]
            ax.imshow(view[box], cmap="gray", vmin=low, vmax=high, aspect=aspects[row],
                      interpolation="nearest")
            if label_views[row] is not None:
                ax.imshow(_label_rgba(label_views[row][box], scheme), aspect=aspects[row],
                          interpolation="nearest")
            elif name in overlays:
                ax.text(0.5, 0.5, f"no {name}", color="white", ha="center", va="center",
                        transform=ax.transAxes, fontsize=11)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(SHORT_TITLES.get(name, name), fontsize=11)
            if col == 0:
                ax.set_ylabel(row_names[row], fontsize=10)
    fig.legend(handles=[Patch(color=REGION_COLOURS[k], label=label) for k, label in
                        (("necrotic", "necrotic / non-enhancing core"), ("edema", "edema"),
                         ("enhancing", "enhancing tumour"))],
               loc="lower center", ncol=3, frameon=False, fontsize=10,
               bbox_to_anchor=(0.5, -0.04))
    if title:
        fig.suptitle(title, fontsize=12)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    return path
