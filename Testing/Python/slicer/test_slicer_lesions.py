"""The module's lesion table and RANO lines, from the same report ``omnet segment`` writes.

Agreement (issue 14, item 4): the table rows and lines come from the ``lesions`` section of
the segment report, and a re-measure after an edit calls the same omnet function on the
exported label map; both are checked against ``omnet measure`` here.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import SimpleITK as sitk
from OMNetSegmentationLib.lesions import (
    COLUMNS,
    diameter_lines,
    measure_labelmap_file,
    read_lesions,
    summary_text,
    table_rows,
)

from omnet.cli import main


@pytest.fixture
def label_file(tmp_path):
    """Two enhancing balls (one measurable, one small) inside edema, 1/2/3 labels."""
    array = np.zeros((40, 60, 60), dtype=np.uint8)
    zz, yy, xx = np.indices(array.shape)
    array[(zz - 20) ** 2 + (yy - 25) ** 2 + (xx - 25) ** 2 <= 13 ** 2] = 2
    array[(zz - 20) ** 2 + (yy - 25) ** 2 + (xx - 25) ** 2 <= 8 ** 2] = 3
    array[(zz - 20) ** 2 + (yy - 50) ** 2 + (xx - 50) ** 2 <= 2 ** 2] = 3
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.9, 0.9, 1.5))
    image.SetOrigin((12.0, -30.0, 4.0))
    path = tmp_path / "labels.nrrd"
    sitk.WriteImage(image, str(path))
    return path


def test_rows_lines_and_summary_equal_omnet_measure(label_file, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["measure", str(label_file), "--json", str(out)]) == 0
    capsys.readouterr()
    cli = json.loads(out.read_text())
    report = measure_labelmap_file(label_file)
    assert json.loads(json.dumps(report)) == {k: v for k, v in cli.items()
                                              if k not in ("file", "labels_from")}

    rows = table_rows(report)
    assert all(len(row) == len(COLUMNS) for row in rows)
    enhancing = [row for row in rows if row[0] == "enhancing"]
    assert [row[1] for row in enhancing] == [1, 2]
    big = report["regions"]["enhancing"][0]
    assert enhancing[0][7] == round(big["rano"]["long_mm"], 1)
    assert enhancing[0][10:] == ["yes", "yes"] and enhancing[1][10:] == ["no", ""]
    assert enhancing[0][4:7] == [round(v, 1) for v in big["centre_ras_mm"]]
    assert enhancing[0][3] == round(big["max_diameter_mm"], 1)
    edema_rows = [row for row in rows if row[0] == "whole tumour"]
    assert edema_rows and edema_rows[0][7:10] == [None, None, None]

    lines = diameter_lines(report)
    assert [(line.lesion, line.kind) for line in lines] == [(1, "long"), (1, "perpendicular")]
    long_line, perp_line = lines
    assert math.dist(long_line.start, long_line.end) == pytest.approx(big["rano"]["long_mm"])
    assert math.dist(perp_line.start, perp_line.end) == pytest.approx(
        big["rano"]["perpendicular_mm"])
    assert long_line.start[2] == long_line.end[2] == big["rano"]["slice_s_mm"]
    assert "1 measurable" in summary_text(report) and "over 1 target" in summary_text(report)


def test_read_lesions_from_a_segment_report(tmp_path, label_file):
    report = measure_labelmap_file(label_file)
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"case": "x", "lesions": report}))
    assert read_lesions(path) == json.loads(json.dumps(report))
    path.write_text("{not json")
    assert read_lesions(path) is None
    assert read_lesions(tmp_path / "missing.json") is None


def test_empty_report_gives_no_rows_and_no_lines():
    report = {"regions": {"whole": [], "core": [], "enhancing": []},
              "rano": {"target_lesions": [], "measurable_lesions": 0,
                       "sum_of_products_mm2": 0.0}}
    assert table_rows(report) == [] and diameter_lines(report) == []
    assert "0 measurable" in summary_text(report)


def test_summary_shows_total_volumes_of_regions_and_labels(label_file):
    """The fixture's label map: a radius-8 ball of enhancing inside a radius-13 ball of edema,
    and a radius-2 enhancing ball; voxel counts by brute force, 0.9 x 0.9 x 1.5 mm voxels."""
    zz, yy, xx = np.indices((40, 60, 60))
    first = (zz - 20) ** 2 + (yy - 25) ** 2 + (xx - 25) ** 2
    second = (zz - 20) ** 2 + (yy - 50) ** 2 + (xx - 50) ** 2
    voxel_ml = 0.9 * 0.9 * 1.5 / 1000
    enhancing = (np.count_nonzero(first <= 64) + np.count_nonzero(second <= 4)) * voxel_ml
    edema = np.count_nonzero((first <= 169) & (first > 64)) * voxel_ml
    lines = summary_text(measure_labelmap_file(label_file)).splitlines()
    assert lines[0] == (f"Volumes (mL): whole tumour {enhancing + edema:.2f}, tumour core "
                        f"{enhancing:.2f}, enhancing {enhancing:.2f}, necrosis 0.00, "
                        f"edema {edema:.2f}")
    assert lines[1].startswith("RANO: 1 measurable")


def test_table_shows_the_max_3d_diameter(label_file):
    """The fixture's enhancing ball of index radius 8 (0.9 x 0.9 x 1.5 mm voxels): its 3D
    diameter lies between the longest side of its bounding box and the box's diagonal,
    both counted here from its voxel indices."""
    zz, yy, xx = np.nonzero(np.fromfunction(
        lambda z, y, x: (z - 20) ** 2 + (y - 25) ** 2 + (x - 25) ** 2 <= 64, (40, 60, 60)))
    extent = [(v.max() - v.min() + 1) * s for v, s in ((xx, 0.9), (yy, 0.9), (zz, 1.5))]
    rows = [row for row in table_rows(measure_labelmap_file(label_file))
            if row[0] == "enhancing"]
    assert COLUMNS[3] == ("Max 3D diameter (mm)", "double")
    assert max(extent) <= rows[0][3] <= math.hypot(*extent)
