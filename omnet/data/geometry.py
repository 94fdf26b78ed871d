"""Put images on one grid: physical-space resampling and optional rigid registration.

Resampling maps every voxel centre of the reference grid to physical space, through the
(optional) transform, into the moving image; this handles different sizes, spacings,
origins and oblique directions alike. Voxels outside the moving image become 0.
"""

from __future__ import annotations

import logging

import numpy as np
import SimpleITK as sitk

from omnet.errors import GeometryError

__all__ = ["coverage_fraction", "grid_difference", "register_rigid", "resample_onto",
           "same_grid"]

log = logging.getLogger(__name__)

#: Relative tolerance for "the same grid" (origin and spacing in mm, direction cosines).
_TOLERANCE = 1e-4
#: Below this fraction of the reference field of view covered by a sequence, say so.
_LOW_COVERAGE = 0.9


def same_grid(a: sitk.Image, b: sitk.Image, tolerance: float = _TOLERANCE) -> bool:
    """True if both images have the same size, spacing, origin and direction (nothing
    :func:`grid_difference` would name)."""
    return not grid_difference(a, b, tolerance)


def _triple(values, digits: int = 3) -> str:
    return " x ".join(f"{float(v):.{digits}g}" for v in values)


def grid_difference(a: sitk.Image, b: sitk.Image, tolerance: float = _TOLERANCE) -> str:
    """How ``a``'s grid differs from ``b``'s in size, spacing, origin and direction, in words
    (``size 120 x 120 x 77, not 240 x 240 x 155``; ``origin 0.3 mm off``); empty when they
    are the same grid (:func:`same_grid`). A header moved a fraction of a voxel and a label
    map resampled to another spacing need different fixes, so the message says which."""
    if a.GetDimension() != b.GetDimension():
        return f"{a.GetDimension()}D, not {b.GetDimension()}D"
    parts = []
    if a.GetSize() != b.GetSize():
        parts.append(f"size {_triple(a.GetSize(), 6)}, not {_triple(b.GetSize(), 6)}")
    scale = max(1.0, *(abs(s) for s in a.GetSpacing()))
    if not np.allclose(a.GetSpacing(), b.GetSpacing(), atol=tolerance * scale):
        parts.append(f"spacing {_triple(a.GetSpacing())} mm, not {_triple(b.GetSpacing())} mm")
    if not np.allclose(a.GetOrigin(), b.GetOrigin(), atol=tolerance * scale):
        away = float(np.linalg.norm(np.subtract(a.GetOrigin(), b.GetOrigin())))
        parts.append(f"origin {away:.3g} mm off")
    if not np.allclose(a.GetDirection(), b.GetDirection(), atol=tolerance):
        parts.append("another direction")
    return "; ".join(parts)


def coverage_fraction(moving: sitk.Image, reference: sitk.Image,
                      transform: sitk.Transform | None = None) -> float:
    """Fraction of the reference grid's voxels that fall inside ``moving``."""
    inside = sitk.Image(moving.GetSize(), sitk.sitkUInt8) + 1
    inside.CopyInformation(moving)
    covered = sitk.Resample(inside, reference, transform or sitk.Transform(),
                            sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    return float(sitk.GetArrayViewFromImage(covered).mean())


def _check_3d(image: sitk.Image, name: str) -> None:
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise GeometryError(f"{name}: expected a 3D scalar image, got {image.GetDimension()}D "
                            f"with {image.GetNumberOfComponentsPerPixel()} component(s)")


def resample_onto(moving: sitk.Image, reference: sitk.Image,
                  transform: sitk.Transform | None = None, nearest: bool = False,
                  name: str = "image") -> sitk.Image:
    """``moving`` on the grid of ``reference`` (linear, or nearest neighbour for labels).

    Intensities come back as float32 (labels keep their pixel type). An image already on the
    reference grid is returned unchanged apart from the cast.

    Raises:
        GeometryError: not 3D, or no voxel of the reference grid lies inside ``moving``.
    """
    _check_3d(moving, name)
    _check_3d(reference, "reference")
    pixel = moving.GetPixelID() if nearest else sitk.sitkFloat32
    if transform is None and same_grid(moving, reference):
        return sitk.Cast(moving, pixel) if moving.GetPixelID() != pixel else moving
    covered = coverage_fraction(moving, reference, transform)
    if covered == 0.0:
        raise GeometryError(f"{name} does not overlap the reference sequence in physical space "
                            "(check origins/orientation, or the files belong to other patients)")
    if covered < _LOW_COVERAGE:
        log.warning("%s covers only %.0f%% of the reference field of view", name, 100 * covered)
    interpolator = sitk.sitkNearestNeighbor if nearest else sitk.sitkLinear
    return sitk.Resample(moving, reference, transform or sitk.Transform(), interpolator, 0.0,
                         pixel)


def register_rigid(fixed: sitk.Image, moving: sitk.Image, name: str = "image",
                   seed: int = 12345) -> sitk.Transform:
    """Rigid (rotation + translation) Mattes mutual-information registration.

    Returns the transform that maps fixed-image physical points into the moving image, as
    :func:`resample_onto` expects. Three resolution levels (shrink 4, 2, 1), 5% random
    sampling with a fixed seed so repeated runs agree.
    """
    _check_3d(fixed, "reference")
    _check_3d(moving, name)
    fixed_f = sitk.Cast(fixed, sitk.sitkFloat32)
    moving_f = sitk.Cast(moving, sitk.sitkFloat32)
    try:
        initial = sitk.CenteredTransformInitializer(
            fixed_f, moving_f, sitk.Euler3DTransform(),
            sitk.CenteredTransformInitializerFilter.GEOMETRY)
        method = sitk.ImageRegistrationMethod()
        method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=50)
        method.SetMetricSamplingStrategy(method.RANDOM)
        method.SetMetricSamplingPercentage(0.05, seed)
        method.SetInterpolator(sitk.sitkLinear)
        method.SetOptimizerAsRegularStepGradientDescent(
            learningRate=2.0, minStep=1e-4, numberOfIterations=200,
            gradientMagnitudeTolerance=1e-8)
        method.SetOptimizerScalesFromPhysicalShift()
        method.SetShrinkFactorsPerLevel([4, 2, 1])
        method.SetSmoothingSigmasPerLevel([2.0, 1.0, 0.0])
        method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
        method.SetInitialTransform(initial, inPlace=False)
        transform = method.Execute(fixed_f, moving_f)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[-160:]
        raise GeometryError(f"registration of {name} to the reference failed ({detail})") from None
    log.info("registered %s: Mattes MI %.4f after %d iterations (%s)", name,
             method.GetMetricValue(), method.GetOptimizerIteration(),
             method.GetOptimizerStopConditionDescription())
    return transform
