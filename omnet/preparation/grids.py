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

__all__ = ["Cropped", "Grid", "Resampled", "lattice_offset", "resample_array"]

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
    lattice (same spacing and direction, voxel centres on each other), else None. The index
    may lie outside ``source``."""
    if not np.allclose(target.direction, source.direction, atol=_TOLERANCE):
        return None
    if not np.allclose(target.spacing, source.spacing, rtol=_TOLERANCE):
        return None
    matrix = np.reshape(source.direction, (3, 3)) * np.asarray(source.spacing)
    index = np.linalg.solve(matrix, np.subtract(target.origin, source.origin))
    rounded = np.rint(index)
    if not np.allclose(index, rounded, atol=_TOLERANCE):
        return None
    return tuple(int(v) for v in rounded[::-1])  # type: ignore[return-value]


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


def resample_array(values: np.ndarray, source: Grid, target: Grid, fill: float = 0.0,
                   nearest: bool = False,
                   transform: sitk.Transform | None = None) -> np.ndarray:
    """``values`` (z, y, x) on ``source`` seen on ``target`` (linear, or nearest neighbour
    for labels); voxels of ``target`` outside ``source`` get ``fill``. Grids on one lattice
    are copied without interpolation. ``transform`` maps target points to source points."""
    if transform is None:
        offset = lattice_offset(target, source)
        if offset is not None:
            return _lattice_copy(values, offset, target.shape, fill)
    if values.dtype == bool:
        values = values.astype(np.uint8)
    image = source.image(values)
    pixel = image.GetPixelID() if nearest else sitk.sitkFloat32
    out = sitk.Resample(image, target.image(), transform or sitk.Transform(),
                        sitk.sitkNearestNeighbor if nearest else sitk.sitkLinear, float(fill),
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
