"""An analytic head: sequences defined in physical space, so any grid samples the same head."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import SimpleITK as sitk

#: Brain ellipsoid (centre and semi-axes, mm), tumour ball, skull and scalp shells.
CENTRE = np.array([90.0, -100.0, 75.0])
AXES = np.array([62.0, 78.0, 58.0])
TUMOUR = (CENTRE + np.array([20.0, -15.0, 10.0]), 18.0)
ROLES = ("flair", "t1", "t1ce", "t2")
BRAIN_VALUE = {"flair": 300.0, "t1": 500.0, "t1ce": 450.0, "t2": 350.0}
TUMOUR_VALUE = {"flair": 700.0, "t1": 300.0, "t1ce": 900.0, "t2": 800.0}
#: Per sequence, the axis (x, y, z) and sign of a smooth 20-unit shading across the brain.
SHADING = {"flair": (2, 1.0), "t1": (1, 1.0), "t1ce": (0, 1.0), "t2": (2, -1.0)}


def rotation(degrees_x: float, degrees_z: float = 0.0) -> tuple[float, ...]:
    a, b = np.radians(degrees_x), np.radians(degrees_z)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
    return tuple((rz @ rx).ravel())


def grid_points(size, spacing, origin, direction) -> np.ndarray:
    """Physical (x, y, z) of every voxel centre, array-ordered (z, y, x, 3)."""
    idx = np.stack(np.meshgrid(*[np.arange(s) for s in size], indexing="ij"), -1)
    matrix = np.reshape(direction, (3, 3)) * np.asarray(spacing)
    return (idx @ matrix.T + np.asarray(origin)).transpose(2, 1, 0, 3)


def head_values(points: np.ndarray, role: str, skull: bool = False) -> np.ndarray:
    """The analytic head at ``points``: brain (with a tumour ball), zero outside; with
    ``skull`` also a bright scalp, a dark skull, and noise-free air."""
    r = np.sqrt((((points - CENTRE) / AXES) ** 2).sum(-1))
    tumour = np.linalg.norm(points - TUMOUR[0], axis=-1) < TUMOUR[1]
    values = np.where(r < 1.0, np.where(tumour, TUMOUR_VALUE[role], BRAIN_VALUE[role]), 0.0)
    axis, sign = SHADING[role]  # each sequence shaded along its own axis, as coils do:
    shade = sign * 20.0 * (points[..., axis] - CENTRE[axis]) / AXES[axis]  # no two are
    values = values + np.where(r < 1.0, shade, 0.0)  # one image at another scale
    if skull:
        values = np.where((r >= 1.08) & (r < 1.18), 60.0, values)  # skull: dark
        values = np.where((r >= 1.18) & (r < 1.3), 800.0, values)  # scalp and fat: bright
    return values.astype(np.float32)


def head_image(role: str, size: Sequence[int] = (90, 100, 80),
               spacing: Sequence[float] = (2.0, 2.0, 2.0),
               origin: Sequence[float] = (0.0, -199.0, 0.0),
               direction: Sequence[float] = (1, 0, 0, 0, 1, 0, 0, 0, 1),
               skull: bool = False) -> sitk.Image:
    image = sitk.GetImageFromArray(head_values(grid_points(size, spacing, origin, direction),
                                               role, skull))
    image.SetSpacing([float(s) for s in spacing])
    image.SetOrigin([float(o) for o in origin])
    image.SetDirection([float(d) for d in direction])
    return image


@functools.lru_cache(maxsize=4)
def _cached_case(skull: bool, grid: tuple) -> dict[str, sitk.Image]:
    return {role: head_image(role, skull=skull, **dict(grid)) for role in ROLES}


def head_case(skull: bool = False, **grid) -> dict[str, sitk.Image]:
    """The four sequences (shared between calls with the same grid: do not modify them)."""
    return dict(_cached_case(skull, tuple(sorted(grid.items()))))
