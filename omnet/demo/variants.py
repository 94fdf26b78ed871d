"""A case re-acquired as a scanner might have written it: thick slices, mixed resolutions,
oblique or sagittal slices, flipped axes, another origin.

Used by the tests and ``tools/measure_variants.py`` to check that the segmentation does not
depend on how the head lies in the voxel grid. Thick slices are simulated as a scanner
makes them: each slice averages its thickness (a Gaussian along the slice axis, full width
at half maximum = the thickness), then the volume is sampled on the new grid. The label map
travels with the case (nearest neighbour). Two label maps are compared on one grid:
:meth:`Variant.back` brings one on the variant's grid onto the original's (nearest neighbour,
or each region's mask interpolated and cut at one half), :meth:`Variant.forward` takes one on
the original's grid onto the variant's, as the label map travelled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from omnet.evaluation.metrics import region_masks
from omnet.labels import BRATS2018
from omnet.preparation.resolution import FWHM_SIGMAS

__all__ = ["VARIANTS", "Variant", "make_variant", "thick_slices"]


@dataclass
class Variant:
    """The re-acquired sequences (and label map) and the ways between the two grids."""

    name: str
    images: dict[str, sitk.Image]
    seg: sitk.Image | None
    original: sitk.Image  # the original reference sequence (its grid)
    reference: sitk.Image  # the variant's reference sequence
    shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the move in scanner space

    def back(self, labels: sitk.Image, smooth: bool = False) -> sitk.Image:
        """A label map on the variant's grid onto the original's: nearest neighbour, or
        (``smooth``) each tumour region interpolated linearly and cut at one half, the way
        the expert ceiling of ``tools/measure_variants.py`` brings masks back."""
        return _labels_onto(_moved(labels, -np.asarray(self.shift_mm)), self.original, smooth)

    def forward(self, labels: sitk.Image) -> sitk.Image:
        """A label map on the original's grid onto the variant's, by nearest neighbour (as
        :attr:`seg` travelled), to compare the two where the variant's answer lives."""
        return _labels_onto(_moved(labels, np.asarray(self.shift_mm)), self.reference, False)


def _moved(image: sitk.Image, shift: np.ndarray) -> sitk.Image:
    if not np.any(shift):
        return image
    out = sitk.Image(image)
    out.SetOrigin(tuple(np.asarray(image.GetOrigin()) + shift))
    return out


def _labels_onto(labels: sitk.Image, grid: sitk.Image, smooth: bool) -> sitk.Image:
    """``labels`` (BraTS 2018 values) resampled onto ``grid``; ``smooth`` rebuilds the label
    map from each region's interpolated mask (edema, then core as necrosis, then enhancing)."""
    if not smooth:
        return sitk.Resample(labels, grid, sitk.Transform(), sitk.sitkNearestNeighbor, 0,
                             labels.GetPixelID())
    values = sitk.GetArrayViewFromImage(labels)
    regions = region_masks(values)
    out = np.zeros(grid.GetSize()[::-1], np.uint8)
    for region, value in (("whole", BRATS2018.edema), ("core", BRATS2018.necrotic),
                          ("enhancing", BRATS2018.enhancing)):
        mask = sitk.GetImageFromArray(regions[region].astype(np.float32))
        mask.CopyInformation(labels)
        seen = sitk.Resample(mask, grid, sitk.Transform(), sitk.sitkLinear, 0.0,
                             sitk.sitkFloat32)
        out[sitk.GetArrayViewFromImage(seen) >= 0.5] = value
    image = sitk.GetImageFromArray(out.astype(values.dtype))
    image.CopyInformation(grid)
    return image


def _grid_around(image: sitk.Image, spacing: tuple[float, float, float],
                 direction: tuple[float, ...]) -> sitk.Image:
    """An empty grid of ``spacing`` and ``direction`` covering ``image``'s field of view."""
    size = np.asarray(image.GetSize())
    corners = np.array([image.TransformContinuousIndexToPhysicalPoint(
        [float(c) for c in (np.array(k) * (size - 1))])
        for k in np.ndindex(2, 2, 2)])
    axes = np.reshape(direction, (3, 3))
    local = corners @ axes  # coordinates along the new axes
    lo, hi = local.min(axis=0), local.max(axis=0)
    count = np.ceil((hi - lo) / np.asarray(spacing)).astype(int) + 1
    grid = sitk.Image([int(c) for c in count], sitk.sitkUInt8)
    grid.SetSpacing(spacing)
    grid.SetDirection(direction)
    grid.SetOrigin(tuple(axes @ lo))
    return grid


def thick_slices(image: sitk.Image, spacing: tuple[float, float, float],
                 direction: tuple[float, ...] | None = None, label: bool = False) -> sitk.Image:
    """``image`` sampled on a grid of ``spacing`` (and ``direction``) over its field of
    view; intensities are first averaged over each new voxel's extent (Gaussian), and what
    was zero (outside a skull-stripped brain) stays zero where it covers half a voxel."""
    direction = tuple(direction or image.GetDirection())
    grid = _grid_around(image, spacing, direction)
    if label:
        return sitk.Resample(image, grid, sitk.Transform(), sitk.sitkNearestNeighbor, 0,
                             image.GetPixelID())
    source = sitk.Cast(image, sitk.sitkFloat32)
    old = np.asarray(image.GetSpacing())
    # average over each new voxel's extent along the image's own axes (nearly aligned)
    sigma = np.sqrt(np.maximum(np.asarray(spacing) ** 2 - old**2, 0)) / FWHM_SIGMAS
    for axis, width in enumerate(sigma):
        if width > 0:
            source = sitk.RecursiveGaussian(source, float(width), False,
                                            sitk.RecursiveGaussianImageFilter.ZeroOrder, axis)
    out = sitk.Resample(source, grid, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    # a skull-stripped input stays zero outside its brain mask, seen on the new grid
    inside = sitk.Resample(sitk.Cast(image != 0, sitk.sitkFloat32), grid, sitk.Transform(),
                           sitk.sitkLinear, 0.0, sitk.sitkFloat32) >= 0.5
    out = sitk.Mask(sitk.Clamp(out, lowerBound=0.0), inside)
    return sitk.Cast(out, image.GetPixelID())


def _rotation(degrees_x: float, degrees_z: float) -> tuple[float, ...]:
    a, b = np.radians(degrees_x), np.radians(degrees_z)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
    return tuple((rz @ rx).ravel())


def _each(images: Mapping[str, sitk.Image], seg: sitk.Image | None,
          change: Callable[[sitk.Image, bool, str], sitk.Image]):
    out = {role: change(image, False, role) for role, image in images.items()}
    return out, (change(seg, True, "seg") if seg is not None else None)


def make_variant(name: str, images: Mapping[str, sitk.Image], seg: sitk.Image | None = None,
                 reference_role: str = "t1ce") -> Variant:
    """One of :data:`VARIANTS` of a case given as role -> image (all on one grid)."""
    shift = (0.0, 0.0, 0.0)
    if name == "thick_axial":  # 0.9 x 0.9 x 5 mm axial slices, every sequence
        new, new_seg = _each(images, seg, lambda im, lab, r: thick_slices(
            im, (0.9, 0.9, 5.0), label=lab))
    elif name == "mixed_resolution":  # 5 mm FLAIR, T1, T2 with the 1 mm T1c
        new, new_seg = _each(images, seg, lambda im, lab, r: im if r in (reference_role, "seg")
                             else thick_slices(im, (0.9, 0.9, 5.0), label=lab))
    elif name == "oblique":  # 1 mm slices tilted 15 degrees about left-right, 10 about z
        direction = _rotation(15.0, 10.0)
        new, new_seg = _each(images, seg, lambda im, lab, r: thick_slices(
            im, (1.0, 1.0, 1.0), direction, label=lab))
    elif name == "sagittal":  # the same voxels stored as sagittal slices
        new, new_seg = _each(images, seg, lambda im, lab, r: sitk.PermuteAxes(im, [1, 2, 0]))
    elif name == "flipped":  # left-right and superior-inferior axes reversed in the file
        new, new_seg = _each(images, seg, lambda im, lab, r: sitk.Flip(im, [True, False, True]))
    elif name == "other_origin":  # the whole case moved in scanner space (another session)
        shift = (37.3, -12.6, 20.8)
        new, new_seg = _each(images, seg, lambda im, lab, r: _moved(im, np.asarray(shift)))
    else:
        raise ValueError(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")
    return Variant(name, new, new_seg, images[reference_role], new[reference_role], shift)


VARIANTS = ("thick_axial", "mixed_resolution", "oblique", "sagittal", "flipped",
            "other_origin")
