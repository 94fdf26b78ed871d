"""Total volumes of every region and label (necrosis and edema included) in the lesion report.

Blocks of known voxel counts on an anisotropic, oblique grid: each volume is the count times
the voxel volume (0.5 x 0.5 x 5 mm = 1.25 uL), whatever the direction matrix.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.cli import main
from omnet.inference.outputs import label_volumes_ml
from omnet.labels import BRATS2018
from omnet.measurement import measure_image

SPACING = (0.5, 0.5, 5.0)
VOXEL_ML = 0.5 * 0.5 * 5.0 / 1000.0
# Voxel counts by label, by construction below: necrosis 3 x 4 x 5, enhancing a 2 x 6 x 7
# block plus one separate voxel, edema 2 x 10 x 10; four separate blocks (lesions).
COUNTS = {"necrotic": 3 * 4 * 5, "enhancing": 2 * 6 * 7 + 1, "edema": 2 * 10 * 10}


def oblique_labels() -> sitk.Image:
    array = np.zeros((12, 30, 30), dtype=np.uint8)
    array[1:4, 2:6, 2:7] = 1                      # necrosis (z, y, x)
    array[5:7, 2:8, 2:9] = 4                      # enhancing
    array[10, 28, 28] = 4                         # a separate one-voxel enhancing lesion
    array[8:10, 10:20, 15:25] = 2                 # edema
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING)
    c, s = math.cos(math.radians(25.0)), math.sin(math.radians(25.0))
    image.SetDirection((c, 0.0, s, 0.0, 1.0, 0.0, -s, 0.0, c))
    image.SetOrigin((3.0, -7.0, 11.0))
    return image


def expected_ml() -> dict[str, float]:
    n, e, t = COUNTS["necrotic"], COUNTS["edema"], COUNTS["enhancing"]
    return {"whole": (n + e + t) * VOXEL_ML, "core": (n + t) * VOXEL_ML,
            "enhancing": t * VOXEL_ML, "necrotic": n * VOXEL_ML, "edema": e * VOXEL_ML}


def test_report_has_every_total_volume():
    report = measure_image(oblique_labels())
    assert report.volumes_ml == pytest.approx(expected_ml())
    assert sum(lesion.volume_ml for lesion in report.regions["enhancing"]) == pytest.approx(
        expected_ml()["enhancing"])
    data = report.to_dict()
    assert data["volumes_ml"] == pytest.approx(expected_ml())
    assert data["lesion_counts"] == {"whole": 4, "core": 3, "enhancing": 2}


def test_segment_report_volumes_agree_with_measure():
    image = oblique_labels()
    volumes = label_volumes_ml(sitk.GetArrayFromImage(image), BRATS2018, SPACING)
    expected = expected_ml()
    assert volumes == pytest.approx({"necrotic": expected["necrotic"], "edema": expected["edema"],
                                     "enhancing": expected["enhancing"], "whole": expected["whole"],
                                     "core": expected["core"],
                                     "enhancing_tumour": expected["enhancing"]}, abs=1e-4)


def test_cli_prints_and_writes_volumes(tmp_path, capsys):
    path, out = tmp_path / "seg.nii.gz", tmp_path / "m.json"
    sitk.WriteImage(oblique_labels(), str(path))
    assert main(["measure", str(path), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    expected = expected_ml()
    assert (f"volumes mL: whole {expected['whole']:.3f}, core {expected['core']:.3f}, "
            f"enhancing {expected['enhancing']:.3f}, necrotic {expected['necrotic']:.3f}, "
            f"edema {expected['edema']:.3f}") in text
    assert "lesions: whole 4, core 3, enhancing 2" in text
    assert json.loads(out.read_text())["volumes_ml"] == pytest.approx(expected)


@pytest.mark.parametrize("name, words", [("taken", "taken is a folder"),
                                         ("new/", "new/ names a folder")])
def test_a_json_report_that_names_a_folder_is_refused_before_any_work(tmp_path, capsys, name,
                                                                      words):
    # --json new/ wrote a file named new; --json of a folder failed only after measuring
    path = tmp_path / "seg.nii.gz"
    sitk.WriteImage(oblique_labels(), str(path))
    (tmp_path / "taken").mkdir()
    before = sorted(tmp_path.rglob("*"))
    assert main(["measure", str(path), "--json", f"{tmp_path}/{name}"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"omnet: error: the JSON report {tmp_path}/{words}; give a file name such as "
        f"{tmp_path / name.rstrip('/') / 'lesions.json'}"]
    assert sorted(tmp_path.rglob("*")) == before


def test_segment_and_measure_give_one_label_map_the_same_numbers():
    # Brats18_2013_11_1's counts at 1 mm: summed as floats, its core came out as
    # 59.650000000000006 mL in `omnet measure --json` and the report's "lesions", 59.65 in the
    # report's "volumes_ml", so the two did not compare equal
    array = np.zeros((140, 100, 10), dtype=np.uint8).ravel()
    array[:43596] = 1
    array[43596:43596 + 16054] = 4
    array[43596 + 16054:43596 + 16054 + 77793] = 2
    image = sitk.GetImageFromArray(array.reshape(140, 100, 10))
    measured = measure_image(image).to_dict()
    segmented = label_volumes_ml(sitk.GetArrayFromImage(image), BRATS2018, (1.0, 1.0, 1.0))
    assert measured["volumes_ml"] == {"whole": 137.443, "core": 59.65, "enhancing": 16.054,
                                      "necrotic": 43.596, "edema": 77.793}
    assert {name: segmented[name] for name in measured["volumes_ml"]} == measured["volumes_ml"]
    assert [lesion["volume_ml"] for lesion in measured["regions"]["core"]] == [59.65]
