"""The maximal 3D diameter of a lesion: the largest distance between two of its points, mm.

Edge to edge over the voxels (each voxel a box in physical space, as the RANO diameters
are squares in the plane), so one voxel measures its own diagonal; exact on any spacing
and direction matrix. The farthest pair is among the corners of the hull vertices: the hull
of the voxel boxes is the hull of their centres grown by one box.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist

from omnet.measurement.grid import Grid

__all__ = ["max_diameter_mm"]


def _hull_points(points: np.ndarray) -> np.ndarray:
    """The vertices of the convex hull of ``points``, or all of them when it is flat."""
    if len(points) <= 8:
        return points
    try:
        return points[ConvexHull(points).vertices]
    except QhullError:          # all centres on one plane or line: the corners are not
        return points


def max_diameter_mm(indices_zyx: np.ndarray, grid: Grid) -> float:
    """Largest distance (mm) between two points of the voxels ``indices_zyx`` on ``grid``."""
    steps = grid.axis_steps_ras()               # columns: one step along image x, y, z
    offsets = np.array([steps @ np.array(signs) for signs in
                        itertools.product((-0.5, 0.5), repeat=3)])
    centres = _hull_points(grid.to_ras(np.asarray(indices_zyx)))
    corners = _hull_points((centres[:, None, :] + offsets[None]).reshape(-1, 3))
    return float(pdist(corners).max())
