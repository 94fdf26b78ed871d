"""The lesion report as table rows and RANO diameter lines (pure Python, tested outside Slicer).

The report is the ``lesions`` section of ``omnet segment --report`` (or the output of
``omnet measure``); :mod:`.lesionscene` puts these rows into a table node and these lines
into markup line nodes. Re-measuring after an edit calls the same omnet function.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

__all__ = ["COLUMNS", "DiameterLine", "diameter_lines", "measure_labelmap_file",
           "read_lesions", "summary_text", "table_rows"]

log = logging.getLogger(__name__)

REGION_TITLES = {"whole": "whole tumour", "core": "tumour core", "enhancing": "enhancing"}
#: Table columns: (title, kind) with kind "string", "int", "double" (vtkMRMLTableNode types).
COLUMNS = (("Region", "string"), ("Lesion", "int"), ("Volume (mL)", "double"),
           ("Max 3D diameter (mm)", "double"),
           ("R (mm)", "double"), ("A (mm)", "double"), ("S (mm)", "double"),
           ("Longest (mm)", "double"), ("Perpendicular (mm)", "double"),
           ("Product (mm2)", "double"), ("Measurable", "string"), ("Target", "string"))


@dataclass(frozen=True)
class DiameterLine:
    """One RANO diameter to draw: its name and its two ends in RAS mm."""

    name: str
    start: tuple[float, float, float]
    end: tuple[float, float, float]
    lesion: int
    kind: str  # "long" or "perpendicular"


def _round(value: float, digits: int = 2) -> float:
    return round(float(value), digits)


def table_rows(report: dict) -> list[list]:
    """One row per lesion, in ``COLUMNS`` order; RANO cells empty for non-enhancing ones."""
    rows = []
    for region, lesions in report.get("regions", {}).items():
        for lesion in lesions:
            r, a, s = (_round(v, 1) for v in lesion["centre_ras_mm"])
            diameter = lesion.get("max_diameter_mm")
            row = [REGION_TITLES.get(region, region), int(lesion["index"]),
                   _round(lesion["volume_ml"], 3),
                   None if diameter is None else _round(diameter, 1), r, a, s]
            rano = lesion.get("rano")
            if rano:
                row += [_round(rano["long_mm"], 1), _round(rano["perpendicular_mm"], 1),
                        _round(rano["product_mm2"], 1), "yes" if rano["measurable"] else "no",
                        "yes" if lesion.get("target") else ""]
            else:
                row += [None, None, None, "", ""]
            rows.append(row)
    return rows


def diameter_lines(report: dict) -> list[DiameterLine]:
    """The two diameters of every measurable enhancing lesion, as lines to draw."""
    lines = []
    for lesion in report.get("regions", {}).get("enhancing", []):
        rano = lesion.get("rano")
        if not rano or not rano["measurable"]:
            continue
        index = int(lesion["index"])
        for kind, key, title in (("long", "long_axis_ras_mm", "longest"),
                                 ("perpendicular", "perpendicular_axis_ras_mm",
                                  "perpendicular")):
            start, end = (tuple(float(v) for v in point) for point in rano[key])
            lines.append(DiameterLine(f"ET {index} {title}", start, end, index, kind))
    return lines


#: Total volumes shown under the table: (report key, title), regions then labels.
VOLUME_TITLES = (("whole", "whole tumour"), ("core", "tumour core"), ("enhancing", "enhancing"),
                 ("necrotic", "necrosis"), ("edema", "edema"))


def summary_text(report: dict) -> str:
    """Lines under the table: total volumes (when the report has them), then the RANO sum
    of products over the target lesions."""
    lines = []
    volumes = report.get("volumes_ml") or {}
    if volumes:
        lines.append("Volumes (mL): " + ", ".join(
            f"{title} {float(volumes[key]):.2f}" for key, title in VOLUME_TITLES
            if key in volumes))
    rano = report.get("rano") or {}
    targets = rano.get("target_lesions") or []
    lines.append(f"RANO: {rano.get('measurable_lesions', 0)} measurable enhancing lesion(s); "
                 f"sum of products over {len(targets)} target(s): "
                 f"{float(rano.get('sum_of_products_mm2', 0.0)):.1f} mm2")
    return "\n".join(lines)


def measure_labelmap_file(path: str | os.PathLike, labels: str = "brats2023") -> dict:
    """Re-measure an exported label map with omnet's own measurement (no network)."""
    from omnet.measurement.report import measure_file

    return measure_file(path, labels).to_dict()


def read_lesions(report_path: str | os.PathLike) -> dict | None:
    """The ``lesions`` section of a segment report, or None (missing or unreadable file)."""
    try:
        with open(report_path, encoding="utf-8") as handle:
            lesions = json.load(handle).get("lesions")
    except (OSError, ValueError, AttributeError) as error:
        log.warning("OMNet: no lesion report in %s: %s", report_path, error)
        return None
    return lesions if isinstance(lesions, dict) else None
