"""One label map -> its lesion report: every lesion of each region, RANO for enhancing ones.

The same function serves ``omnet measure``, the ``lesions`` section of ``omnet segment
--report`` and the Slicer module's lesion table, so the three always agree.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace

import numpy as np

from omnet.labels import BRATS2018, REGION_NAMES, LabelScheme
from omnet.measurement.grid import LPS_TO_RAS, Grid
from omnet.measurement.lesions import (
    CONNECTIVITY,
    Lesion,
    find_lesions,
    lesion_voxels,
    slice_counts,
)
from omnet.measurement.rano import (
    MAX_TARGETS,
    MEASURABLE_MM,
    MIN_SLICES,
    measurable_minimum_mm,
    measure_lesion,
)
from omnet.measurement.volumes import VOLUME_NAMES, region_volumes_ml

__all__ = ["DEFINITION", "LesionReport", "lesion_table", "measure_file", "measure_image",
           "measure_labels"]

DEFINITION = ("volumes_ml: total volume of each region and label (voxel count x voxel "
              "volume), mL; "
              f"lesions: connected components ({CONNECTIVITY}-connectivity) of each region; "
              "volume in mL, centre = mean voxel position in RAS mm, max_diameter_mm = "
              "largest 3D distance across the lesion, edge to edge over the voxels; RANO "
              "(enhancing lesions): longest diameter on the patient-axial slice where it is "
              "largest, longest diameter exactly perpendicular to it, both edge to edge over the "
              f"voxels, in mm; measurable when both >= min_diameter_mm ({MEASURABLE_MM:g} mm, "
              "or twice the slice thickness above 5 mm) and the lesion is on >= "
              f"{MIN_SLICES} of the image's slices nearest axial; targets: the "
              f"{MAX_TARGETS} measurable lesions with the largest products")


@dataclass(frozen=True)
class LesionReport:
    """The lesions of each region (``whole``, ``core``, ``enhancing``) of one label map,
    and the total volumes (mL) of the regions and of necrosis and edema (``VOLUME_NAMES``);
    for a file, where its scheme came from (a key of ``SCHEME_SOURCES``: given, the file's
    header, or its values)."""

    scheme: str
    regions: dict[str, list[Lesion]]
    volumes_ml: dict[str, float]
    scheme_from: str | None = None

    @property
    def targets(self) -> list[Lesion]:
        """RANO target lesions: measurable enhancing lesions, largest product first, <= 5."""
        measurable = [lesion for lesion in self.regions.get("enhancing", [])
                      if lesion.rano is not None and lesion.rano.measurable]
        measurable.sort(key=lambda lesion: -lesion.rano.product_mm2)
        return measurable[:MAX_TARGETS]

    @property
    def sum_of_products_mm2(self) -> float:
        return float(sum(lesion.rano.product_mm2 for lesion in self.targets))

    def to_dict(self) -> dict:
        targets = [lesion.index for lesion in self.targets]
        regions = {}
        for name, lesions in self.regions.items():
            rows = []
            for lesion in lesions:
                row = lesion.to_dict()
                if name == "enhancing":
                    row["target"] = lesion.index in targets
                rows.append(row)
            regions[name] = rows
        return {"definition": DEFINITION, "labels": self.scheme,
                "volumes_ml": dict(self.volumes_ml),
                "lesion_counts": {name: len(lesions) for name, lesions in self.regions.items()},
                "regions": regions,
                "rano": {"target_lesions": targets,
                         "measurable_lesions": sum(
                             1 for lesion in self.regions.get("enhancing", [])
                             if lesion.rano is not None and lesion.rano.measurable),
                         "sum_of_products_mm2": self.sum_of_products_mm2}}


def _axial_grid(labelled: np.ndarray, grid: Grid) -> tuple[np.ndarray, Grid]:
    """Resample numbered lesions (nearest neighbour) onto an LPS-aligned grid around them."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(labelled.astype(np.int32))
    image.SetSpacing(grid.spacing)
    image.SetOrigin(grid.origin)
    image.SetDirection(grid.direction)
    found = np.argwhere(labelled > 0)
    lo, hi = found.min(axis=0) - 1, found.max(axis=0) + 1
    box = np.array([[z, y, x] for z in (lo[0], hi[0]) for y in (lo[1], hi[1])
                    for x in (lo[2], hi[2])])
    lps = grid.to_ras(box) * LPS_TO_RAS
    step = float(min(grid.spacing))
    origin = lps.min(axis=0)
    size = [math.ceil(extent / step) + 1 for extent in lps.max(axis=0) - origin]
    identity = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    axial = sitk.Resample(image, size, sitk.Transform(), sitk.sitkNearestNeighbor,
                          tuple(float(o) for o in origin), (step, step, step), identity, 0,
                          sitk.sitkInt32)
    return sitk.GetArrayFromImage(axial), Grid((step, step, step),
                                               tuple(float(o) for o in origin), identity)


def _with_rano(lesions: list[Lesion], labelled: np.ndarray, grid: Grid) -> list[Lesion]:
    if not lesions:
        return lesions
    slices = slice_counts(labelled, grid.nearest_s_array_axis(), len(lesions))
    minimum = measurable_minimum_mm(grid.slice_thickness_mm())
    axis = grid.axial_array_axis()
    resampled = axis is None
    if resampled:
        labelled, grid = _axial_grid(labelled, grid)
        axis = 0
    out = []
    for lesion, indices in zip(lesions, lesion_voxels(labelled, len(lesions))):
        rano = (measure_lesion(indices, grid, axis, resampled, int(slices[lesion.index]),
                               minimum) if len(indices) else None)
        out.append(replace(lesion, rano=rano))
    return out


def measure_labels(labels: np.ndarray, grid: Grid,
                   scheme: LabelScheme = BRATS2018) -> LesionReport:
    """The lesion report of a label map (z, y, x) on ``grid``."""
    regions = {}
    for name in REGION_NAMES:
        mask = np.isin(labels, scheme.regions()[name])
        lesions, labelled = find_lesions(mask, grid, name)
        regions[name] = _with_rano(lesions, labelled, grid) if name == "enhancing" else lesions
    return LesionReport(scheme.name, regions, region_volumes_ml(labels, scheme, grid.spacing))


def measure_image(image, scheme: LabelScheme = BRATS2018) -> LesionReport:
    """The lesion report of a SimpleITK label image."""
    import SimpleITK as sitk

    return measure_labels(sitk.GetArrayViewFromImage(image), Grid.of(image), scheme)


def measure_file(path: str | os.PathLike, labels: str | None = None) -> LesionReport:
    """Read a label map (scheme given, named in the header ``omnet segment`` writes, or
    detected from its values) and measure it."""
    from omnet.evaluation.files import read_label_map

    label_map = read_label_map(path, labels, "label map")
    g = label_map.geometry
    report = measure_labels(label_map.labels, Grid(g.spacing, g.origin, g.direction),
                            label_map.scheme)
    return replace(report, scheme_from=label_map.scheme_from)


def _fmt_point(point) -> str:
    return "(" + ", ".join(f"{v:.1f}" for v in point) + ")"


def lesion_table(report: LesionReport) -> str:
    """A text table: the label scheme and where it came from (for a file), total volumes and
    lesion counts, one line per lesion, then the RANO sum of products."""
    from omnet.evaluation.files import SCHEME_SOURCES

    lines = [f"labels: {report.scheme} ({SCHEME_SOURCES[report.scheme_from]})"
             ] if report.scheme_from is not None else []
    lines += ["volumes mL: " + ", ".join(f"{name} {report.volumes_ml[name]:.3f}"
                                        for name in VOLUME_NAMES),
             "lesions: " + ", ".join(f"{name} {len(lesions)}"
                                     for name, lesions in report.regions.items()),
             f"{'region':<10}{'lesion':>7}{'volume mL':>11}{'max 3D mm':>10}  "
             f"{'centre RAS mm':<24}"
             f"{'long mm':>9}{'perp mm':>9}{'product':>10}  measurable"]
    targets = {lesion.index for lesion in report.targets}
    for name, lesions in report.regions.items():
        if not lesions:
            lines.append(f"{name:<10}{'-':>7}  no lesion")
        for lesion in lesions:
            line = (f"{name:<10}{lesion.index:>7}{lesion.volume_ml:>11.3f}"
                    f"{lesion.max_diameter_mm:>10.1f}  "
                    f"{_fmt_point(lesion.centre_ras_mm):<24}")
            if lesion.rano is not None:
                r = lesion.rano
                line += (f"{r.long_mm:>9.1f}{r.perpendicular_mm:>9.1f}{r.product_mm2:>10.1f}  "
                         f"{'yes' if r.measurable else 'no'}"
                         f"{' (target)' if lesion.index in targets else ''}")
            lines.append(line)
    lines.append(f"RANO sum of products over {len(targets)} target lesion(s): "
                 f"{report.sum_of_products_mm2:.1f} mm2")
    return "\n".join(lines)
