"""RANO bidimensional measurement of a lesion on the patient's axial plane.

Definitions (RANO, Wen et al. J Clin Oncol 2010; RANO 2.0, Wen et al. 2023), as computed here:

- Axial: the patient's axial plane (constant S). When an image axis lies within 1 degree of
  S, the image's own slices along it are used (no resampling, whatever the orientation:
  axial, sagittal or coronal acquisitions alike); otherwise the lesion is resampled
  (nearest neighbour) onto an axial grid of the image's smallest spacing.
- Voxels are squares in the plane: a diameter is measured edge to edge, the extent of the
  voxels' squares, not between voxel centres (which would be about one voxel short).
- Longest diameter: on each axial slice, the largest distance between two points of the
  lesion's squares (the corners of their convex hull). The slice used is the one where this
  diameter is largest (ties: the larger perpendicular diameter).
- Perpendicular diameter: on that slice, the longest segment exactly perpendicular to the
  longest diameter whose ends are in the lesion: on one perpendicular line, the distance
  between the farthest points where it meets the voxels' squares (exact: the line is tried
  through every corner). The segment may cross non-enhancing voxels (a ring-enhancing
  lesion is measured across its cavity, as RANO does).
- Measurable: both diameters >= 10 mm, or >= twice the slice thickness when the image's
  slices are thicker than 5 mm, and the lesion seen on 2 or more of the image's own slices
  (``slices``: along the image axis nearest S, also when the lesion was resampled).
- Targets: the measurable lesions with the largest products, at most 5; the sum of products
  is taken over them.

Accuracy on digitised shapes: within about one voxel diagonal of the true diameter (the
squares of a digitised ellipse reach up to half a voxel beyond it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull

from omnet.measurement.grid import Grid

__all__ = ["MAX_TARGETS", "MEASURABLE_MM", "MIN_SLICES", "Bidimensional",
           "measurable_minimum_mm", "measure_lesion"]

MEASURABLE_MM = 10.0
MIN_SLICES = 2
MAX_TARGETS = 5
_TIE_MM = 1e-6
_ON_LINE_MM = 1e-9
#: A square's corners in order around it, in units of its two edges.
_AROUND = ((-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5))


@dataclass(frozen=True)
class Bidimensional:
    """Two perpendicular diameters (mm) on one axial slice, with their ends in RAS mm."""

    long_mm: float
    perpendicular_mm: float
    slice_s_mm: float
    long_axis_ras_mm: tuple[tuple[float, float, float], tuple[float, float, float]]
    perpendicular_axis_ras_mm: tuple[tuple[float, float, float], tuple[float, float, float]]
    slices: int
    resampled: bool = False
    min_diameter_mm: float = MEASURABLE_MM

    @property
    def product_mm2(self) -> float:
        return self.long_mm * self.perpendicular_mm

    @property
    def measurable(self) -> bool:
        """RANO measurable disease: both diameters >= ``min_diameter_mm``, on >= 2 slices."""
        return (self.slices >= MIN_SLICES and self.long_mm >= self.min_diameter_mm
                and self.perpendicular_mm >= self.min_diameter_mm)

    def to_dict(self) -> dict:
        return {"long_mm": self.long_mm, "perpendicular_mm": self.perpendicular_mm,
                "product_mm2": self.product_mm2, "measurable": self.measurable,
                "min_diameter_mm": self.min_diameter_mm,
                "slice_s_mm": self.slice_s_mm, "slices": self.slices,
                "long_axis_ras_mm": [list(p) for p in self.long_axis_ras_mm],
                "perpendicular_axis_ras_mm": [list(p) for p in self.perpendicular_axis_ras_mm],
                "resampled": self.resampled}


def measurable_minimum_mm(slice_thickness_mm: float) -> float:
    """RANO's smallest measurable diameter: 10 mm, or twice the slice thickness above 5 mm."""
    return max(MEASURABLE_MM, 2.0 * float(slice_thickness_mm))


def _corners(points: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    offsets = np.array([a * e1 + b * e2 for a in (-0.5, 0.5) for b in (-0.5, 0.5)])
    return (points[:, None, :] + offsets[None]).reshape(-1, 2)


def _longest(points: np.ndarray, e1: np.ndarray, e2: np.ndarray,
             ) -> tuple[float, np.ndarray, np.ndarray]:
    """Largest distance between two points of the squares, and its two ends."""
    corners = np.unique(np.round(_corners(points, e1, e2), 9), axis=0)
    hull = corners[ConvexHull(corners).vertices]
    dist = np.linalg.norm(hull[:, None, :] - hull[None, :, :], axis=-1)
    i, j = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(dist[i, j]), hull[i], hull[j]


def _chord(t: np.ndarray, s: np.ndarray, t0: float) -> tuple[float, float]:
    """Lowest and highest ``s`` where the line ``t = t0`` meets the squares whose corners,
    in order around each, have coordinates ``t``, ``s`` (N, 4): over their edges."""
    ta, tb = t, np.roll(t, -1, axis=1)
    sa, sb = s, np.roll(s, -1, axis=1)
    span = tb - ta
    meets = (np.minimum(ta, tb) <= t0 + _ON_LINE_MM) & (np.maximum(ta, tb) >= t0 - _ON_LINE_MM)
    along = np.abs(span) <= _ON_LINE_MM                  # an edge lying on the line
    share = np.clip(np.divide(t0 - ta, span, out=np.zeros_like(span), where=~along), 0.0, 1.0)
    crossing = sa + share * (sb - sa)
    low = np.where(along, np.minimum(sa, sb), crossing)[meets]
    high = np.where(along, np.maximum(sa, sb), crossing)[meets]
    return float(low.min()), float(high.max())


def _perpendicular(points: np.ndarray, u: np.ndarray, e1: np.ndarray, e2: np.ndarray,
                   ) -> tuple[float, np.ndarray, np.ndarray]:
    """Longest extent along ``v`` (perpendicular to ``u``) of the lesion on one line along
    ``v``: between the farthest points where that line meets the voxels' squares.

    The extent is piecewise linear in the line's position, each piece's maximum at a
    corner, so the lines through every corner give the exact longest one.
    """
    v = np.array([-u[1], u[0]])
    half_t = (abs(u @ e1) + abs(u @ e2)) / 2
    corners = points[:, None, :] + np.array([a * e1 + b * e2 for a, b in _AROUND])[None]
    order = np.argsort(points @ u)
    centre_t = (points @ u)[order]
    t, s = corners[order] @ u, corners[order] @ v                  # (N, 4) each
    best = (-1.0, 0.0, 0.0, 0.0)
    for t0 in np.unique(np.round(t, 9)):
        lo = np.searchsorted(centre_t, t0 - half_t - _ON_LINE_MM, side="left")
        hi = np.searchsorted(centre_t, t0 + half_t + _ON_LINE_MM, side="right")
        low, high = _chord(t[lo:hi], s[lo:hi], t0)
        if high - low > best[0]:
            best = (high - low, t0, low, high)
    width, t0, low, high = best
    return float(width), t0 * u + low * v, t0 * u + high * v


def measure_lesion(indices_zyx: np.ndarray, grid: Grid, axial_axis: int,
                   resampled: bool = False, slices: int | None = None,
                   min_diameter_mm: float = MEASURABLE_MM) -> Bidimensional:
    """RANO diameters of one lesion given its voxel indices on a grid with axial slices.

    ``axial_axis`` is the array axis along S (:meth:`Grid.axial_array_axis`); slices along
    it are axial planes. ``slices``: the lesion's count of the original image's slices
    (default: of ``grid``'s, right unless the lesion was resampled). See the module
    docstring for the definitions.
    """
    indices_zyx = np.asarray(indices_zyx)
    steps = grid.axis_steps_ras()                    # columns: x, y, z image axes
    in_plane = [2 - a for a in range(3) if a != axial_axis]
    e1, e2 = steps[:2, in_plane[0]], steps[:2, in_plane[1]]
    ras = grid.to_ras(indices_zyx)
    slice_ids = indices_zyx[:, axial_axis]
    per_slice = []
    for value in np.unique(slice_ids):
        sel = slice_ids == value
        length, p, q = _longest(ras[sel, :2], e1, e2)
        per_slice.append((length, value, p, q))
    top = max(length for length, *_ in per_slice)
    best = None
    for length, value, p, q in per_slice:
        if length < top - _TIE_MM:
            continue
        sel = slice_ids == value
        u = (q - p) / length
        width, a, b = _perpendicular(ras[sel, :2], u, e1, e2)
        if best is None or width > best[1]:
            best = (length, width, float(ras[sel, 2].mean()), p, q, a, b)
    length, width, s_mm, p, q, a, b = best

    def point(xy: np.ndarray) -> tuple[float, float, float]:
        return (float(xy[0]), float(xy[1]), s_mm)

    return Bidimensional(length, width, s_mm, (point(p), point(q)), (point(a), point(b)),
                         slices=len(per_slice) if slices is None else slices,
                         resampled=resampled, min_diameter_mm=min_diameter_mm)
