"""Voxel grids as values, and moving arrays between two grids (the stage's spatial records).

A :class:`Grid` is an image's geometry without its voxels. :class:`Resampled` and
:class:`Cropped` are the frozen records of the two spatial steps; each one's ``undo`` brings
an array from the step's output back to its input, so :meth:`PreparedCase.restore` undoes
the records in reverse order. When one grid is an axis-aligned sub-lattice of the other
(a BraTS volume and its canonical grid), arrays are sliced and pasted, not interpolated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from omnet.preprocessing.crop import BBox, bbox_shape, paste_back

__all__ = ["Cropped", "Grid", "Resampled", "lattice_offset", "resample_array", "same_lattice"]

#: Tolerance (in voxels, and for direction cosines) for "on the same lattice".
_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Grid:
    """Size (x, y, z), spacing (mm), origin (mm) and direction cosines of a voxel grid."""

    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]

    @classmethod
    def of(cls, image: sitk.Image) -> Grid:
        return cls(tuple(int(s) for s in image.GetSize()),
                   tuple(float(s) for s in image.GetSpacing()),
                   tuple(float(o) for o in image.GetOrigin()),
                   tuple(float(d) for d in image.GetDirection()))

    @property
    def shape(self) -> tuple[int, int, int]:
        """The array shape (z, y, x)."""
        return tuple(reversed(self.size))  # type: ignore[return-value]

    def image(self, values: np.ndarray | None = None) -> sitk.Image:
        """An image on this grid: ``values`` (z, y, x), or zeros (uint8)."""
        image = (sitk.GetImageFromArray(values) if values is not None
                 else sitk.Image(list(self.size), sitk.sitkUInt8))
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction)
        return image

    def describe(self) -> dict:
        return {"size": list(self.size), "spacing": [round(s, 4) for s in self.spacing],
                "origin": [round(o, 3) for o in self.origin],
                "direction": [round(d, 4) for d in self.direction]}


def lattice_offset(target: Grid, source: Grid) -> tuple[int, int, int] | None:
    """Index (z, y, x) of ``target``'s first voxel in ``source`` when both grids share one
    lattice with the same axes (spacing, direction), else None. It may lie outside."""
    mapping = _lattice_mapping(target, source)
    if mapping is None or mapping[0] != (0, 1, 2) or min(mapping[1]) < 0:
        return None
    return tuple(int(v) for v in mapping[2][::-1])  # type: ignore[return-value]


def _lattice_mapping(target: Grid, source: Grid):
    """When every voxel centre of ``target`` is one of ``source``'s (axes possibly permuted
    or reversed): per target axis (x, y, z) the source axis, its sign, and the source index
    of the target's first voxel; else None."""
    src = np.reshape(source.direction, (3, 3)) * np.asarray(source.spacing)
    tgt = np.reshape(target.direction, (3, 3)) * np.asarray(target.spacing)
    matrix = np.linalg.solve(src, tgt)
    offset = np.linalg.solve(src, np.subtract(target.origin, source.origin))
    rounded = np.rint(matrix)
    if not (np.allclose(matrix, rounded, atol=_TOLERANCE)
            and np.allclose(offset, np.rint(offset), atol=_TOLERANCE)):
        return None
    if not (np.abs(rounded).sum(axis=0) == 1).all() or not (np.abs(rounded).sum(axis=1) == 1
                                                             ).all():
        return None
    axes = tuple(int(np.argmax(np.abs(rounded[:, j]))) for j in range(3))
    signs = tuple(int(rounded[axes[j], j]) for j in range(3))
    return axes, signs, np.rint(offset).astype(int)


def _lattice_copy(values: np.ndarray, offset: tuple[int, int, int],
                  shape: tuple[int, int, int], fill: float) -> np.ndarray:
    """The block of ``values`` starting at ``offset`` with ``shape``; outside it, ``fill``."""
    out = np.full(shape, fill, dtype=values.dtype)
    src, dst = [], []
    for start, n, available in zip(offset, shape, values.shape):
        lo, hi = max(start, 0), min(start + n, available)
        if hi <= lo:
            return out
        src.append(slice(lo, hi))
        dst.append(slice(lo - start, hi - start))
    out[tuple(dst)] = values[tuple(src)]
    return out


def _lattice_resample(values: np.ndarray, source: Grid, target: Grid,
                      fill: float) -> np.ndarray | None:
    """``values`` on ``target`` by copying voxels, when the grids share a lattice."""
    mapping = _lattice_mapping(target, source)
    if mapping is None:
        return None
    axes, signs, first = mapping
    view = np.transpose(values.transpose(2, 1, 0), axes)  # source in target's axis order
    offset = []
    for j, (axis, sign) in enumerate(zip(axes, signs)):
        if sign < 0:
            view = np.flip(view, j)
            offset.append(source.size[axis] - 1 - int(first[axis]))
        else:
            offset.append(int(first[axis]))
    return _lattice_copy(view.transpose(2, 1, 0), tuple(offset[::-1]), target.shape, fill)


def resample_array(values: np.ndarray, source: Grid, target: Grid, fill: float = 0.0,
                   nearest: bool = False, transform: sitk.Transform | None = None,
                   interpolator: int = sitk.sitkLinear) -> np.ndarray:
    """``values`` (z, y, x) on ``source`` seen on ``target`` (linear, or nearest neighbour
    for labels); voxels of ``target`` outside ``source`` get ``fill``. Grids on one lattice
    (axes possibly permuted or reversed) are copied without interpolation. ``transform``
    maps target points to source points; ``interpolator`` is SimpleITK's (linear default).
    """
    if transform is None:
        copied = _lattice_resample(values, source, target, fill)
        if copied is not None:
            return copied
    if values.dtype == bool:
        values = values.astype(np.uint8)
    image = source.image(values)
    pixel = image.GetPixelID() if nearest else sitk.sitkFloat32
    out = sitk.Resample(image, target.image(), transform or sitk.Transform(),
                        sitk.sitkNearestNeighbor if nearest else interpolator, float(fill),
                        pixel)
    return sitk.GetArrayFromImage(out)


@dataclass(frozen=True)
class Resampled:
    """Every sequence was resampled from the ``source`` grid onto the ``target`` grid."""

    source: Grid
    target: Grid

    def undo(self, values: np.ndarray, fill: float = 0.0, nearest: bool = False) -> np.ndarray:
        """(..., z, y, x) on ``target`` -> the same on ``source``."""
        if values.ndim == 3:
            return resample_array(values, self.target, self.source, fill, nearest)
        flat = values.reshape(-1, *values.shape[-3:])
        out = np.stack([resample_array(v, self.target, self.source, fill, nearest)
                        for v in flat])
        return out.reshape(*values.shape[:-3], *out.shape[-3:])


@dataclass(frozen=True)
class Cropped:
    """The volume was cut to ``box`` out of an array of spatial shape ``full_shape``."""

    box: BBox
    full_shape: tuple[int, int, int]

    def undo(self, values: np.ndarray, fill: float = 0.0, nearest: bool = False) -> np.ndarray:
        if tuple(values.shape[-3:]) != bbox_shape(self.box):
            raise ValueError(f"values {values.shape[-3:]} do not fit the crop "
                             f"{bbox_shape(self.box)}")
        return paste_back(values, self.box, self.full_shape, fill)


def same_lattice(source: Grid, target: Grid) -> bool:
    """Whether every voxel centre of ``target`` is one of ``source``'s (no interpolation)."""
    return _lattice_mapping(target, source) is not None
