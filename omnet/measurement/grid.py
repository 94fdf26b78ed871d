"""A voxel grid and the mapping of voxel indices to patient coordinates (RAS, mm).

ITK (and so SimpleITK, NIfTI read by it) gives physical points in LPS; clinicians and 3D
Slicer use RAS, so the first two coordinates change sign. Arrays are in SimpleITK's
(z, y, x) order; spacing, origin and direction are in (x, y, z) order as in the header.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LPS_TO_RAS", "Grid"]

LPS_TO_RAS = np.array([-1.0, -1.0, 1.0])


@dataclass(frozen=True)
class Grid:
    """Spacing, origin and direction (row-major 3 x 3) of a 3D image, in (x, y, z) order."""

    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]

    @classmethod
    def of(cls, image) -> Grid:
        """The grid of a SimpleITK image."""
        return cls(tuple(image.GetSpacing()), tuple(image.GetOrigin()),
                   tuple(image.GetDirection()))

    @property
    def matrix(self) -> np.ndarray:
        """Columns: the image's x, y, z axes in LPS."""
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    def axis_steps_ras(self) -> np.ndarray:
        """Columns: one voxel step along the image's x, y, z axes, in RAS mm."""
        return (self.matrix * np.asarray(self.spacing, dtype=float)) * LPS_TO_RAS[:, None]

    def to_ras(self, indices_zyx: np.ndarray) -> np.ndarray:
        """(N, 3) array indices in (z, y, x) order -> (N, 3) voxel centres in RAS mm."""
        ijk = np.asarray(indices_zyx, dtype=float)[:, ::-1]
        lps = np.asarray(self.origin, dtype=float) + ijk @ (
            self.matrix * np.asarray(self.spacing, dtype=float)).T
        return lps * LPS_TO_RAS

    def nearest_s_array_axis(self) -> int:
        """The array axis (0, 1, 2 in z, y, x order) closest to the patient's S axis."""
        return 2 - int(np.argmax(np.abs(self.matrix[2, :])))

    def slice_thickness_mm(self) -> float:
        """The spacing along :meth:`nearest_s_array_axis`: the distance between the image's
        own (near-)axial slices, which RANO's measurability rule depends on."""
        return float(self.spacing[2 - self.nearest_s_array_axis()])

    def axial_array_axis(self, tolerance_degrees: float = 1.0) -> int | None:
        """The array axis (0, 1, 2 in z, y, x order) along the patient's S axis, if any.

        None when no image axis is within ``tolerance_degrees`` of S (an oblique image).
        """
        axis = self.nearest_s_array_axis()
        if abs(self.matrix[2, 2 - axis]) < np.cos(np.radians(tolerance_degrees)):
            return None
        return axis
