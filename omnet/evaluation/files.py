"""Evaluate one predicted label map file against its reference file.

Reads both with SimpleITK, checks that they share one voxel grid (never resamples), works
out each side's label scheme (given; named in the header of a file ``omnet segment`` wrote;
or detected from the values present) and computes the region metrics of
:mod:`omnet.evaluation.metrics`.
"""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from omnet.errors import GeometryError, InputError
from omnet.evaluation.lesionrules import DEFAULT_LESION_RULES, LesionRules, get_lesion_rules
from omnet.evaluation.lesionwise import LesionwiseMetrics
from omnet.evaluation.lesionwise_brats2023 import Brats2023Metrics
from omnet.evaluation.metrics import BRATS_POLICY, EmptyPolicy, RegionMetrics, evaluate_label_maps
from omnet.labels import SCHEMES, LabelScheme, described_scheme, detect_scheme, header_notes

__all__ = ["SCHEME_SOURCES", "CaseEvaluation", "Geometry", "LabelMap", "check_distinct_files",
           "check_same_geometry", "evaluate_files", "evaluate_missing_prediction",
           "read_label_map", "resolve_scheme", "same_voxels_reoriented"]

log = logging.getLogger(__name__)

#: Where a label map's scheme came from (:attr:`LabelMap.scheme_from`), in words.
SCHEME_SOURCES = {"given": "given", "header": "named in the file's header",
                  "values": "guessed from the label values"}

#: Origin and spacing may differ by this fraction of the voxel size, direction cosines by
#: this much, before two grids count as different (float32 rounding in NIfTI headers).
GEOMETRY_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Geometry:
    """The voxel grid of an image: size and spacing (x, y, z), origin, direction (row-major)."""

    size: tuple[int, ...]
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]

    @classmethod
    def of(cls, image) -> Geometry:
        return cls(tuple(image.GetSize()), tuple(image.GetSpacing()), tuple(image.GetOrigin()),
                   tuple(image.GetDirection()))

    def image_of(self, array: np.ndarray):
        """``array`` (z, y, x) as a SimpleITK image on this grid."""
        import SimpleITK as sitk

        image = sitk.GetImageFromArray(array)
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction)
        return image


@dataclass
class LabelMap:
    """A label map read from disk: values (z, y, x), grid, the scheme of its values and
    where it came from (a key of ``SCHEME_SOURCES``)."""

    path: Path
    labels: np.ndarray
    geometry: Geometry
    scheme: LabelScheme
    scheme_from: str = "values"

    @property
    def spacing_zyx(self) -> tuple[float, ...]:
        return self.geometry.spacing[::-1]


@dataclass
class CaseEvaluation:
    """The outcome for one case: metrics per region, or why there are none.

    ``status`` is ``ok``, ``missing prediction``, ``missing reference`` or ``error``.
    """

    case_id: str
    status: str = "ok"
    pred_path: Path | None = None
    ref_path: Path | None = None
    pred_scheme: str | None = None
    ref_scheme: str | None = None
    regions: dict[str, RegionMetrics] = field(default_factory=dict)
    message: str = ""
    #: Lesion-wise metrics per region (empty unless asked for), and the rules they follow
    #: (a name of :data:`omnet.evaluation.lesionrules.LESION_RULES`).
    lesionwise: dict[str, LesionwiseMetrics | Brats2023Metrics] = field(default_factory=dict)
    lesion_rules: str | None = None
    #: No prediction was found and the case was scored as an empty one (BraTS scoring).
    scored_as_empty: bool = False

    def to_dict(self) -> dict:
        return {"case": self.case_id, "status": self.status,
                "prediction": str(self.pred_path) if self.pred_path else None,
                "reference": str(self.ref_path) if self.ref_path else None,
                "pred_labels": self.pred_scheme, "ref_labels": self.ref_scheme,
                "metrics": {k: v.to_dict() for k, v in self.regions.items()},
                **({"lesion_wise_rules": self.lesion_rules,
                    "lesion_wise": {k: v.to_dict() for k, v in self.lesionwise.items()}}
                   if self.lesionwise else {}),
                "scored_as_empty": self.scored_as_empty,
                "message": self.message or None}


def _distinct_values(labels: np.ndarray) -> list[int]:
    if labels.dtype.kind in "iub" and labels.size and labels.min() >= 0 and labels.max() < 256:
        return [int(v) for v in np.flatnonzero(np.bincount(labels.ravel()))]
    return [int(v) for v in np.unique(labels)]


def resolve_scheme(values: list[int], requested: str | None, what: str) -> LabelScheme:
    """The scheme named by ``requested`` (checked against the values) or detected from them."""
    if requested in (None, "auto"):
        try:
            return detect_scheme(values)
        except ValueError as exc:
            raise InputError(f"{what}: {exc}") from None
    try:
        scheme = SCHEMES[requested]
    except KeyError:
        raise InputError(f"unknown label scheme {requested!r}; choose auto, "
                         f"{', '.join(SCHEMES)}") from None
    unknown = sorted(set(values) - {0, *scheme.values})
    if unknown:
        allowed = "/".join(str(v) for v in (0, *scheme.values))
        raise InputError(f"{what}: label values {unknown} are not in scheme {scheme.name} "
                         f"({allowed})")
    return scheme


def read_label_map(path: str | os.PathLike, scheme: str | None = None,
                   what: str = "label map") -> LabelMap:
    """Read a 3D integer label map; one-line InputError for anything unusable, voxels no MRI
    has included (a header's wrong unit of length would make every mm and mL figure 1000 or
    10^9 times off)."""
    import SimpleITK as sitk

    from omnet.data.imageio import check_voxel_size

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise InputError(f"cannot read {what} {path}: {reason}") from None
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"{what} {path.name} is not a 3D single-component image "
                         f"(size {image.GetSize()}, "
                         f"{image.GetNumberOfComponentsPerPixel()} components)")
    check_voxel_size(image, f"{what} {path.name}")
    labels = sitk.GetArrayFromImage(image)
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise InputError(f"{what} {path.name} holds non-integer values; "
                             "expected BraTS labels 0/1/2/4 or 0/1/2/3")
        labels = labels.astype(np.int32)
    values, name = _distinct_values(labels), f"{what} {path.name}"
    if scheme not in (None, "auto"):
        given = resolve_scheme(values, scheme, name)
        described = _described_in_header(image)
        if described is not None and described is not given:
            log.warning("%s: read as labels %s, as asked, though its header names labels %s",
                        name, given.name, described.name)
        return LabelMap(path, labels, Geometry.of(image), given, "given")
    described = _header_scheme(image, values, name)
    if described is not None:
        return LabelMap(path, labels, Geometry.of(image), described, "header")
    return LabelMap(path, labels, Geometry.of(image), resolve_scheme(values, None, name))


def _described_in_header(image) -> LabelScheme | None:
    """The scheme the header text of a label map ``omnet segment`` wrote names, or None."""
    return next((s for s in map(described_scheme, header_notes(image)) if s is not None), None)


def _header_scheme(image, values: list[int], name: str) -> LabelScheme | None:
    """The scheme the header names (:func:`_described_in_header`), when the values fit it
    (a file edited since may hold other values: then they decide)."""
    scheme = _described_in_header(image)
    if scheme is not None and not set(values) <= {0, *scheme.values}:
        log.warning("%s: its header names labels %s, but it holds values %s: read by its "
                    "values", name, scheme.name, sorted(set(values) - {0, *scheme.values}))
        return None
    return scheme


def _corner_centres(grid: Geometry) -> np.ndarray:
    """Physical positions (mm) of the centres of a grid's 8 corner voxels."""
    direction = np.reshape(grid.direction, (3, 3))
    corners = itertools.product(*((0, n - 1) for n in grid.size))
    return np.array([np.add(grid.origin, direction @ np.multiply(c, grid.spacing))
                     for c in corners])


def same_voxels_reoriented(a: Geometry, b: Geometry,
                           tolerance: float = GEOMETRY_TOLERANCE) -> bool:
    """True when two grids hold the same voxels in another axis order or direction (a
    file re-saved as RAS instead of LPS, say): reorienting, not resampling, aligns them."""
    if len(a.size) != 3 or len(b.size) != 3:
        return False
    if sorted(zip(a.size, np.round(a.spacing, 3))) != sorted(zip(b.size, np.round(b.spacing, 3))):
        return False
    voxel = min(min(a.spacing), min(b.spacing))
    gaps = np.linalg.norm(_corner_centres(a)[:, None] - _corner_centres(b)[None], axis=2)
    return bool(np.all(gaps.min(axis=1) <= tolerance * voxel))


def check_same_geometry(pred: Geometry, ref: Geometry, tolerance: float = GEOMETRY_TOLERANCE,
                        names: tuple[str, str] = ("prediction", "reference")) -> None:
    """Raise GeometryError (one line) when two grids differ; never resample."""
    def fmt(values: tuple[float, ...]) -> str:
        return "(" + ", ".join(f"{v + 0.0:g}" for v in values) + ")"   # + 0.0: no "-0"

    problem = None
    voxel = min(min(pred.spacing), min(ref.spacing))
    if pred.size != ref.size:
        problem = f"size {fmt(pred.size)} vs {fmt(ref.size)}"
    elif np.max(np.abs(np.subtract(pred.spacing, ref.spacing))) > tolerance * voxel:
        problem = f"spacing {fmt(pred.spacing)} vs {fmt(ref.spacing)} mm"
    elif np.max(np.abs(np.subtract(pred.direction, ref.direction))) > tolerance:
        problem = f"direction {fmt(pred.direction)} vs {fmt(ref.direction)}"
    elif np.max(np.abs(np.subtract(pred.origin, ref.origin))) > tolerance * voxel:
        problem = f"origin {fmt(pred.origin)} vs {fmt(ref.origin)} mm"
    if problem is None:
        return
    if same_voxels_reoriented(pred, ref, tolerance):
        import SimpleITK as sitk

        code = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(ref.direction)
        remedy = (f"they hold the same voxels in another orientation: reorient the {names[0]} "
                  f"to the {names[1]}'s {code} (SimpleITK.DICOMOrient(image, '{code}')) first")
    else:
        remedy = f"resample the {names[0]} onto the {names[1]} grid first"
    raise GeometryError(f"{names[0]} and {names[1]} are on different voxel grids: {problem}; "
                        f"{remedy} (omnet evaluate never resamples)")


def check_distinct_files(pred_path: str | os.PathLike, ref_path: str | os.PathLike) -> None:
    """Raise InputError when prediction and reference are one file: the perfect scores that
    would follow (Dice 1, HD95 0) hide a mix-up of folders, never a real result."""
    try:
        same = os.path.samefile(pred_path, ref_path)
    except OSError:                                  # missing files: read_label_map says so
        return
    if same:
        raise InputError(f"prediction and reference are the same file: {ref_path}; "
                         "give the predicted label map as PRED (or --pred-dir)")


def evaluate_files(pred_path: str | os.PathLike, ref_path: str | os.PathLike, *,
                   pred_labels: str | None = None, ref_labels: str | None = None,
                   policy: EmptyPolicy = BRATS_POLICY, case_id: str | None = None,
                   lesion_wise: bool = False,
                   lesion_rules: str = DEFAULT_LESION_RULES) -> CaseEvaluation:
    """Metrics of the three BraTS regions for one prediction file against its reference.

    Args:
        pred_path, ref_path: label map files (any format SimpleITK reads).
        pred_labels, ref_labels: scheme names (``brats2018``, ``brats2023``, ``msd``) or
            None / ``auto`` to detect from the values present.
        policy: the empty-region policy.
        case_id: name of the case in reports (default: the prediction's file name).
        lesion_wise: also compute lesion-wise metrics.
        lesion_rules: which: ``brats2025`` (panoptica, the default) or ``brats2023``.
    Raises:
        InputError: missing, unreadable or non-label files; values outside the scheme;
            unknown lesion-wise rules; prediction and reference being one file.
        GeometryError: the two files are on different grids.
    """
    rules = get_lesion_rules(lesion_rules) if lesion_wise else None
    check_distinct_files(pred_path, ref_path)
    pred = read_label_map(pred_path, pred_labels, "prediction")
    ref = read_label_map(ref_path, ref_labels, "reference")
    check_same_geometry(pred.geometry, ref.geometry)
    return _score(pred.labels, pred.scheme, ref, policy, rules,
                  case_id=case_id or pred.path.name, pred_path=pred.path)


def evaluate_missing_prediction(ref_path: str | os.PathLike, *, ref_labels: str | None = None,
                                policy: EmptyPolicy = BRATS_POLICY, case_id: str | None = None,
                                lesion_wise: bool = False,
                                lesion_rules: str = DEFAULT_LESION_RULES) -> CaseEvaluation:
    """A case without a prediction scored as an empty one, as the BraTS challenge counts
    it: Dice 0 and the HD95 penalty where the reference has a region, 1 and 0 where not.

    Raises:
        InputError: the reference is missing, unreadable or no label map.
    """
    rules = get_lesion_rules(lesion_rules) if lesion_wise else None
    ref = read_label_map(ref_path, ref_labels, "reference")
    result = _score(np.zeros_like(ref.labels), ref.scheme, ref, policy, rules,
                    case_id=case_id or ref.path.name, pred_path=None)
    result.pred_scheme, result.scored_as_empty = None, True
    result.message = "no prediction: scored as an empty one"
    return result


def _score(pred_labels: np.ndarray, pred_scheme: LabelScheme, ref: LabelMap,
           policy: EmptyPolicy, rules: LesionRules | None, *, case_id: str,
           pred_path: Path | None,
           ) -> CaseEvaluation:
    """Region (and, with ``rules``, lesion-wise) metrics of predicted labels on the
    reference's grid."""
    regions = evaluate_label_maps(pred_labels, ref.labels, ref.spacing_zyx,
                                  pred_scheme, ref.scheme, policy)
    lesions = (rules.label_maps(pred_labels, ref.labels, ref.spacing_zyx, pred_scheme,
                                ref.scheme) if rules else {})
    return CaseEvaluation(case_id=case_id, pred_path=pred_path, ref_path=ref.path,
                          pred_scheme=pred_scheme.name, ref_scheme=ref.scheme.name,
                          regions=regions, lesionwise=lesions,
                          lesion_rules=rules.name if rules else None)
