"""Read and write label maps for the file-level post-processing functions."""

from __future__ import annotations

import os

import numpy as np
import SimpleITK as sitk

from omnet.data.imageio import read_raw
from omnet.errors import InputError
from omnet.labels import LabelScheme, detect_scheme, get_scheme
from omnet.utils.atomic import atomic_path

__all__ = ["read_label_map", "resolve_scheme", "write_label_map"]


def read_label_map(path: str | os.PathLike) -> tuple[np.ndarray, sitk.Image]:
    """The label array (z, y, x) and the image it came from (for its geometry)."""
    from pathlib import Path

    image = read_raw(path)
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"{Path(path).name}: a label map must be one 3D scalar volume")
    array = sitk.GetArrayFromImage(image)
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array)) or np.any(array != np.rint(array)):
            raise InputError(f"{Path(path).name}: a label map must hold whole numbers")
        array = array.astype(np.int16)
    return array, image


def resolve_scheme(labels: np.ndarray, scheme: LabelScheme | str | None) -> LabelScheme:
    """The given scheme, or the one the label values imply (4 -> 2018, 3 -> 2023)."""
    if isinstance(scheme, LabelScheme):
        return scheme
    if scheme is not None:
        return get_scheme(scheme)
    try:
        return detect_scheme(np.unique(labels))
    except ValueError as exc:
        raise InputError(str(exc)) from None


def write_label_map(labels: np.ndarray, geometry: sitk.Image,
                    path: str | os.PathLike) -> None:
    """Write ``labels`` (uint8) with the geometry of ``geometry``, atomically."""
    image = sitk.GetImageFromArray(labels.astype(np.uint8, copy=False))
    image.CopyInformation(geometry)
    with atomic_path(path) as tmp:
        sitk.WriteImage(image, str(tmp), useCompression=True)
