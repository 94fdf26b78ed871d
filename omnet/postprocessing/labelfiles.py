"""Write label maps for the file-level post-processing functions (they read with
:func:`omnet.evaluation.files.read_label_map`, the one reader of label maps)."""

from __future__ import annotations

import os

import numpy as np
import SimpleITK as sitk

from omnet.evaluation.files import Geometry
from omnet.utils.atomic import atomic_path

__all__ = ["write_label_map"]


def write_label_map(labels: np.ndarray, geometry: Geometry, path: str | os.PathLike) -> None:
    """Write ``labels`` (uint8) on ``geometry``'s grid, atomically."""
    image = geometry.image_of(labels.astype(np.uint8, copy=False))
    with atomic_path(path) as tmp:
        sitk.WriteImage(image, str(tmp), useCompression=True)
