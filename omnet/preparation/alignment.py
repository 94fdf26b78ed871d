"""Step 2, alignment: put every sequence in the reference's physical frame.

Sequences written by one scanner session share a physical frame and need no registration;
series from another session, or taken after the head moved, do. Skull-stripped sequences
on exactly the reference's grid were put there by a pre-processing tool (BraTS,
BrainLesion) that co-registered them, and are taken as they are. For the others (a scanner
also writes two series on one grid) ``auto`` finds out with a quick rigid registration
(Mattes mutual information on copies binned to 4 mm, then 2 mm, started from the
identity): when it would move the head by more than :func:`detection_mm` (2 mm, or 0.6 of
the thickest slice), its transform is used, else the sequence is taken as it is. A
sequence that does not overlap the reference at all is refused (``on`` first centres it by
its image moments). In mixed skull states (a skull-stripped reference, a sequence with its
skull) the sequence is registered by its own brain (:func:`mixed_skull_input`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import numpy as np
import SimpleITK as sitk

from omnet.data.geometry import coverage_fraction, same_grid
from omnet.data.naming import ROLE_TITLES
from omnet.errors import GeometryError, OptionalDependencyError

__all__ = ["DETECT_MM", "DETECT_SLICE_SHARE", "METRIC_WORK_UNITS", "MIN_MIXED_GAIN",
           "MIN_SHARED_TISSUE", "BrainOf", "align", "check_same_brain",
           "co_registered_by_a_tool", "detection_mm", "gain_over_start", "head_points",
           "max_displacement", "mixed_skull_input", "on_reference", "overlaps",
           "rigid_register"]

log = logging.getLogger(__name__)

#: Skull-stripped sequences of one brain, aligned, keep at least this share of their tissue
#: inside the reference's (the 34 BraTS cases: 0.968 or more); a header with the wrong voxel
#: size kept 0.02.
MIN_SHARED_TISSUE = 0.7

#: A coarse registration that moves the head by more than this (mm) means "not aligned".
DETECT_MM = 2.0
#: ... or by more than this share of the thickest slice of either image: a registration of
#: 5 mm slices onto 1 mm ones lands within about half a slice of where it started even when
#: both are in one frame (2.1-2.4 mm on re-sampled BraTS cases), and moving it then only
#: blurs what was right.
DETECT_SLICE_SHARE = 0.6
#: In mixed skull states a registration that moves the head is kept (``auto``) only when it
#: improves the metric on the identity's by this share: HD-BET's brain boundary is not the
#: stripping tool's, which alone moved aligned series 2.6-4.2 mm at gains of 0.011-0.017,
#: while true moves gained 0.40-0.85 (FG-6692) and 0.50 (a known 6 degree, 11 mm move).
MIN_MIXED_GAIN = 0.1

#: ITK's Mattes metric sums its samples in work units; with more than one, the same
#: registration differed from run to run in the 7th digit (five runs, five transforms, even
#: with one thread; FG-6692: 13 of 5,300 tumour voxels flipped between two runs). One work
#: unit gives the same transform every time, and was no slower on two shared cores (0.6-0.8 s
#: a series either way).
METRIC_WORK_UNITS = 1

#: role, image -> uint8 brain mask on the image's own grid (HD-BET in the pipeline).
BrainOf = Callable[[str, sitk.Image], sitk.Image]


def detection_mm(reference: sitk.Image, moving: sitk.Image) -> float:
    """Displacement (mm) above which ``moving`` counts as out of line with ``reference``."""
    thickest = max(*reference.GetSpacing(), *moving.GetSpacing())
    return max(DETECT_MM, DETECT_SLICE_SHARE * thickest)


def _float(image: sitk.Image) -> sitk.Image:
    return image if image.GetPixelID() == sitk.sitkFloat32 else sitk.Cast(image,
                                                                          sitk.sitkFloat32)


def head_points(reference: sitk.Image) -> np.ndarray:
    """The 8 corners (mm) of the box around the reference's foreground (Otsu, 4 mm grid):
    where a rigid transform's displacement is measured."""
    shrink = [max(1, round(4.0 / s)) for s in reference.GetSpacing()]
    small = sitk.Shrink(_float(reference), shrink)
    mask = sitk.GetArrayViewFromImage(sitk.OtsuThreshold(small, 0, 1, 128)) > 0
    if not mask.any():
        mask = np.ones(mask.shape, dtype=bool)
    hits = [np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
            for axis in range(3)]
    lo = [float(h[0]) for h in reversed(hits)]  # x, y, z
    hi = [float(h[-1]) for h in reversed(hits)]
    corners = [(x, y, z) for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
    return np.array([small.TransformContinuousIndexToPhysicalPoint(c) for c in corners])


def max_displacement(transform: sitk.Transform, points: np.ndarray,
                     other: sitk.Transform | None = None) -> float:
    """Largest distance (mm) between where ``transform`` and ``other`` (default: the
    identity) send the ``points``."""
    moved = np.array([transform.TransformPoint(tuple(p)) for p in points])
    target = (points if other is None else
              np.array([other.TransformPoint(tuple(p)) for p in points]))
    return float(np.linalg.norm(moved - target, axis=1).max())


def _centre(reference: sitk.Image) -> tuple[float, float, float]:
    size = np.asarray(reference.GetSize(), dtype=float)
    return reference.TransformContinuousIndexToPhysicalPoint(tuple((size - 1) / 2))


def downsampled(image: sitk.Image, mm: float) -> sitk.Image:
    """``image`` averaged over bins of about ``mm`` (float32; thick axes left as they are)."""
    factors = [max(1, round(mm / s)) for s in image.GetSpacing()]
    image = _float(image)
    return sitk.BinShrink(image, factors) if max(factors) > 1 else image


def _mattes_method(small_fixed: sitk.Image, mm: float, samples: int,
                   iterations: int) -> sitk.ImageRegistrationMethod:
    """The registration of one level: Mattes MI on ``samples`` random voxels (fixed seed),
    summed in :data:`METRIC_WORK_UNITS` work units, so runs give the same transform."""
    method = sitk.ImageRegistrationMethod()
    method.SetNumberOfWorkUnits(METRIC_WORK_UNITS)
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    method.SetMetricSamplingStrategy(method.RANDOM)
    voxels = float(np.prod(small_fixed.GetSize()))
    method.SetMetricSamplingPercentage(min(1.0, samples / voxels), 12345)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=mm / 2.0, minStep=1e-3, numberOfIterations=iterations,
        gradientMagnitudeTolerance=1e-6, relaxationFactor=0.6)
    method.SetOptimizerScalesFromPhysicalShift()
    return method


def gain_over_start(fixed: sitk.Image, moving: sitk.Image, start: sitk.Transform,
                    transform: sitk.Transform, mm: float = 2.0, samples: int = 20000) -> float:
    """How much better (a share of the start's) the Mattes metric is at ``transform`` than
    at ``start``, on the same samples of copies binned to ``mm``."""
    small_fixed, small_moving = downsampled(fixed, mm), downsampled(moving, mm)
    values = []
    for candidate in (start, transform):
        method = _mattes_method(small_fixed, mm, samples, 1)
        method.SetInitialTransform(candidate, inPlace=False)
        values.append(method.MetricEvaluate(small_fixed, small_moving))
    return (values[0] - values[1]) / max(abs(values[0]), 1e-12)


def mixed_skull_input(role: str, moving: sitk.Image, reference_stripped: bool,
                      brain_of: BrainOf | None) -> sitk.Image | None:
    """``moving`` stripped by its own brain mask when the reference is skull-stripped and
    ``moving`` still holds its skull, else None. Against a stripped reference, mutual
    information pulls a whole head's skull and scalp onto the reference's empty background:
    it moved aligned series by 3-16 mm and missed true moves by 10-46 mm (FG-6692)."""
    from omnet.preparation.brain_extraction import apply_mask, looks_skull_stripped

    if brain_of is None or not reference_stripped or looks_skull_stripped({role: moving})[0]:
        return None
    name = ROLE_TITLES.get(role, role)
    try:
        brain = brain_of(role, moving)
    except OptionalDependencyError as exc:  # no HD-BET: register the whole head, as before
        log.warning("%s holds its skull, the reference does not, and cannot be stripped for "
                    "its registration (%s): registered whole", name, exc)
        return None
    log.info("%s holds its skull, the reference does not: registered by its own brain", name)
    return apply_mask(moving, brain)


def rigid_register(fixed: sitk.Image, moving: sitk.Image, initial: sitk.Transform,
                   levels_mm: tuple[float, ...] = (4.0, 2.0), samples: int = 20000,
                   iterations: int = 100, name: str = "image") -> tuple[sitk.Transform, float]:
    """Rigid Mattes mutual-information registration started at ``initial``.

    Runs on copies of both images binned to each of ``levels_mm`` in turn (coarse to fine;
    far faster than ITK's own pyramid, which keeps the moving image at full resolution).
    Returns the transform from fixed to moving physical points (as ``sitk.Resample``
    wants) and the final metric. The metric uses ``samples`` random voxels per level (a
    fixed seed and one work unit, so runs agree to the last bit).
    """
    transform = initial
    metric = 0.0
    for mm in levels_mm:
        small_fixed = downsampled(fixed, mm)
        method = _mattes_method(small_fixed, mm, samples, iterations)
        method.SetInitialTransform(transform, inPlace=False)
        try:
            transform = method.Execute(small_fixed, downsampled(moving, mm))
        except RuntimeError as exc:
            detail = " ".join(str(exc).split())[-120:]
            raise GeometryError(f"registration of {name} to the reference failed "
                                f"({detail})") from None
        metric = float(method.GetMetricValue())
    return transform, metric


def co_registered_by_a_tool(images: Mapping[str, sitk.Image], reference_role: str) -> set[str]:
    """The sequences a pre-processing tool co-registered with the reference: on exactly its
    grid and, like the reference, skull-stripped (as BraTS and BrainLesion write them). A
    scanner writes a T1 and a T1c on one grid too when the second copies the first's
    prescription, but the head may move in the minutes between them (TCGA-FG-6692's raw T1
    lies 26 mm off its T1c): those are checked like any other pair. Each sequence's
    skull-stripped check runs once."""
    from omnet.preparation.brain_extraction import looks_skull_stripped

    reference = images[reference_role]
    on_grid = {role: image for role, image in images.items()
               if role != reference_role and same_grid(image, reference)}
    if not on_grid or not looks_skull_stripped({reference_role: reference})[0]:
        return set()
    return {role for role, image in on_grid.items() if looks_skull_stripped({role: image})[0]}


def _start(reference: sitk.Image, moving: sitk.Image, covered: float) -> sitk.Transform:
    """The identity about the reference's centre; a moving image that barely overlaps the
    reference is first centred on it by its intensity moments."""
    if covered >= 0.5:
        start = sitk.Euler3DTransform()
        start.SetCenter(_centre(reference))
        return start
    return sitk.CenteredTransformInitializer(
        _float(reference), _float(moving), sitk.Euler3DTransform(),
        sitk.CenteredTransformInitializerFilter.MOMENTS)


def overlaps(images: Mapping[str, sitk.Image], reference_role: str,
             mode: str) -> dict[str, float]:
    """Per sequence, the share of the reference grid inside it (:func:`coverage_fraction`).
    All are checked before any sequence is stripped or registered, so a series elsewhere
    in space is refused in a second, not after minutes of brain extraction.

    Raises:
        GeometryError: a sequence does not overlap the reference (unless ``mode`` is on,
            which centres it by its moments).
    """
    reference = images[reference_role]
    shares = {}
    for role, image in images.items():
        if role == reference_role:
            continue
        shares[role] = coverage_fraction(image, reference)
        if shares[role] == 0.0 and mode != "on":
            raise GeometryError(f"{ROLE_TITLES.get(role, role)} does not overlap the reference "
                                "sequence in physical space (other patient, or other "
                                "session: try --register)")
    return shares


def _align_one(reference: sitk.Image, moving: sitk.Image, covered: float, mode: str,
               name: str, points: np.ndarray, co_registered: bool,
               own_brain: sitk.Image | None = None) -> tuple[sitk.Transform | None, dict]:
    """One sequence's transform and record; ``covered``: its :func:`overlaps` share;
    ``own_brain``: its brain alone, to register in its place (mixed skull states)."""
    entry: dict = {"coverage": round(covered, 3)}
    if mode == "off":
        return None, {**entry, "registered": False, "reason": "registration off"}
    if co_registered:
        return None, {**entry, "registered": False,
                      "reason": "on the reference's grid and skull-stripped: co-registered by "
                                "the tool that wrote it"}
    if own_brain is not None:
        moving = own_brain
        entry["registered_by"] = "its own brain (it holds its skull, the reference does not)"
    start = _start(reference, moving, covered)
    transform, metric = rigid_register(reference, moving, start, name=name)
    shift = max_displacement(transform, points)
    entry.update(displacement_mm=round(shift, 2), metric=round(metric, 4))
    if mode == "auto" and shift <= detection_mm(reference, moving):
        return None, {**entry, "registered": False,
                      "reason": f"already aligned (registration would move it {shift:.1f} mm)"}
    if mode == "auto" and own_brain is not None:
        gain = gain_over_start(reference, moving, start, transform)
        entry["gain_over_identity"] = round(gain, 3)
        if gain < MIN_MIXED_GAIN:
            return None, {**entry, "registered": False,
                          "reason": f"already aligned (registration would move it {shift:.1f} "
                                    f"mm for a {gain:.1%} better fit)"}
    log.info("registered %s: moved up to %.1f mm (Mattes MI %.3f)", name, shift, metric)
    reason = "asked for" if mode == "on" else f"out of line by {shift:.1f} mm"
    return transform, {**entry, "registered": True, "reason": reason}


def align(images: Mapping[str, sitk.Image], reference_role: str, mode: str,
          brain_of: BrainOf | None = None) -> tuple[dict[str, sitk.Transform | None], dict]:
    """Per sequence, the transform from reference to sequence points (None: identity).

    ``brain_of`` gives a sequence's brain mask for mixed skull states
    (:func:`mixed_skull_input`); None registers every sequence whole.

    Raises:
        GeometryError: a sequence does not overlap the reference (unless ``mode`` is on),
            or its registration failed.
    """
    reference = images[reference_role]
    covered = overlaps(images, reference_role, mode)
    points = head_points(reference)
    transforms: dict[str, sitk.Transform | None] = {reference_role: None}
    sequences: dict[str, dict] = {}
    trusted = co_registered_by_a_tool(images, reference_role) if mode == "auto" else set()
    reference_stripped = False
    if brain_of is not None and mode != "off":
        from omnet.preparation.brain_extraction import looks_skull_stripped

        reference_stripped = looks_skull_stripped({reference_role: reference})[0]
    for role, image in images.items():
        if role == reference_role:
            continue
        own_brain = (None if role in trusted or mode == "off" else
                     mixed_skull_input(role, image, reference_stripped, brain_of))
        transforms[role], sequences[role] = _align_one(reference, image, covered[role], mode,
                                                       ROLE_TITLES.get(role, role), points,
                                                       role in trusted, own_brain)
    return transforms, {"step": "alignment", "mode": mode, "sequences": sequences}


def on_reference(images: Mapping[str, sitk.Image], reference: sitk.Image,
                 transforms: Mapping[str, sitk.Transform | None]) -> dict[str, sitk.Image]:
    """Every sequence as float32 on the reference grid (for brain extraction and N4)."""
    out = {}
    for role, image in images.items():
        transform = transforms.get(role)
        if transform is None and same_grid(image, reference):
            out[role] = _float(image)
            continue
        out[role] = sitk.Resample(image, reference, transform or sitk.Transform(),
                                  sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    return out


def check_same_brain(working: Mapping[str, sitk.Image], reference_role: str) -> None:
    """Refuse skull-stripped sequences whose tissue, aligned on the reference grid
    (``working``, from :func:`on_reference`), mostly lies outside the reference's: a header
    with the wrong voxel size, or a series of another head. Partial coverage passes (the
    share is of the sequence's own tissue); raw heads pass (the reference fills its grid)."""
    inside = sitk.GetArrayViewFromImage(working[reference_role]) != 0
    for role, image in working.items():
        tissue = sitk.GetArrayViewFromImage(image) != 0
        total = int(np.count_nonzero(tissue))
        if role == reference_role or total == 0:
            continue
        share = np.count_nonzero(tissue & inside) / total
        if share < MIN_SHARED_TISSUE:
            raise GeometryError(
                f"{ROLE_TITLES[role]}: after alignment only {share:.0%} of its tissue lies "
                f"inside the reference sequence's brain; check the voxel size in its header, "
                f"or that it is this patient's series")
