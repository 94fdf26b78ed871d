"""BraTS 2025 lesion-wise metrics (panoptica): values computed independently, edge cases, CLI.

Expected values come from this file's own arithmetic on generated cubes: the matching is
decided by hand, HD95 is the 95th percentile of both directed surface-distance sets pooled
and NSD the share of both surfaces within one voxel (the definitions of panoptica 2.1.7),
computed with OMNet's own surface distances, not panoptica's.
"""

from __future__ import annotations

import csv
import json
import math
import sys

import numpy as np
import pytest

pytest.importorskip("panoptica", reason="lesion-wise metrics need the extra omnet[lesionwise]")

from omnet.cli import main
from omnet.errors import OMNetError
from omnet.evaluation import lesionwise
from omnet.evaluation.lesionwise import lesionwise_label_maps, lesionwise_region
from omnet.evaluation.metrics import dice
from omnet.evaluation.surface import directed_surface_distances
from omnet.labels import BRATS2018, BRATS2023


def write_labels(path, labels):
    import SimpleITK as sitk

    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(sitk.GetImageFromArray(labels), str(path))
    return path


def pooled_hd95(a, b, spacing):
    d = np.concatenate([directed_surface_distances(a, b, spacing),
                        directed_surface_distances(b, a, spacing)])
    return float(np.percentile(d, 95))


def nsd(a, b, spacing):
    tol = min(spacing)
    return float((np.mean(directed_surface_distances(a, b, spacing) <= tol)
                  + np.mean(directed_surface_distances(b, a, spacing) <= tol)) / 2)


def box(shape, *slices):
    mask = np.zeros(shape, dtype=bool)
    mask[slices] = True
    return mask


SHAPE = (30, 40, 40)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.8, 1.2)])
def test_matched_missed_and_spurious_lesions(spacing):
    ref_a = box(SHAPE, slice(2, 12), slice(2, 12), slice(2, 12))
    ref_b = box(SHAPE, slice(20, 24), slice(30, 34), slice(30, 34))      # missed
    pred_a = box(SHAPE, slice(3, 13), slice(2, 12), slice(2, 12))        # shifted one voxel
    pred_c = box(SHAPE, slice(20, 25), slice(2, 6), slice(30, 35))       # spurious
    m = lesionwise_region(pred_a | pred_c, ref_a | ref_b, spacing)
    assert (m.ref_lesions, m.pred_lesions, m.tp, m.fp, m.fn) == (2, 2, 1, 1, 1)
    assert m.f1 == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))
    # Only the matched pair enters the lesion-wise means (BraTS 2025, unlike 2023).
    assert m.dice == pytest.approx(dice(pred_a, ref_a)) and m.dice == pytest.approx(0.9)
    assert m.hd95 == pytest.approx(pooled_hd95(pred_a, ref_a, spacing))
    assert m.nsd == pytest.approx(nsd(pred_a, ref_a, spacing))


def test_mean_over_several_matched_lesions():
    ref = [box(SHAPE, slice(2, 12), slice(2, 12), slice(2, 12)),
           box(SHAPE, slice(15, 25), slice(25, 35), slice(25, 35))]
    pred = [box(SHAPE, slice(2, 12), slice(2, 12), slice(4, 14)),         # Dice 0.8
            box(SHAPE, slice(15, 25), slice(25, 35), slice(25, 35))]      # Dice 1
    m = lesionwise_region(np.logical_or(*pred), np.logical_or(*ref), (1.0, 1.0, 1.0))
    assert (m.tp, m.fp, m.fn) == (2, 0, 0)
    assert m.dice == pytest.approx((0.8 + 1.0) / 2)
    assert m.hd95 == pytest.approx((pooled_hd95(pred[0], ref[0], (1, 1, 1)) + 0.0) / 2)


def test_one_to_one_matching_keeps_the_better_overlap():
    ref = box(SHAPE, slice(5, 15), slice(5, 25), slice(5, 15))
    big = box(SHAPE, slice(5, 15), slice(5, 18), slice(5, 15))
    small = box(SHAPE, slice(5, 15), slice(20, 24), slice(5, 15))
    m = lesionwise_region(big | small, ref, (1.0, 1.0, 1.0))
    assert (m.ref_lesions, m.pred_lesions, m.tp, m.fp, m.fn) == (1, 2, 1, 1, 0)
    assert m.dice == pytest.approx(dice(big, ref))


def test_lesions_touching_at_a_corner_are_one_lesion():
    """Connected components use 26-connectivity (cc3d's default in 3D)."""
    ref = box(SHAPE, slice(2, 6), slice(2, 6), slice(2, 6)) | \
        box(SHAPE, slice(6, 10), slice(6, 10), slice(6, 10))
    m = lesionwise_region(ref, ref, (1.0, 1.0, 1.0))
    assert (m.ref_lesions, m.pred_lesions, m.tp) == (1, 1, 1)
    assert (m.dice, m.hd95, m.nsd) == (1.0, 0.0, 1.0)


def test_edge_cases_without_a_match():
    empty = np.zeros(SHAPE, dtype=bool)
    lesion = box(SHAPE, slice(2, 6), slice(2, 6), slice(2, 6))
    both_empty = lesionwise_region(empty, empty, (1.0, 1.0, 1.0))
    assert all(math.isnan(v) for v in (both_empty.dice, both_empty.hd95, both_empty.nsd))
    assert (both_empty.tp, both_empty.fp, both_empty.fn) == (0, 0, 0)
    for pred, ref, counts in ((empty, lesion, (0, 0, 1)), (lesion, empty, (0, 1, 0))):
        m = lesionwise_region(pred, ref, (1.0, 1.0, 1.0))
        assert (m.tp, m.fp, m.fn) == counts
        assert (m.dice, m.nsd, m.hd95, m.f1) == (0.0, 0.0, math.inf, 0.0)
    assert both_empty.to_dict()["dice"] is None
    assert lesionwise_region(empty, lesion, (1, 1, 1)).to_dict()["hd95"] is None


def test_regions_and_both_label_schemes():
    ref = np.zeros(SHAPE, dtype=np.uint8)
    ref[2:12, 2:12, 2:12] = 2
    ref[4:10, 4:10, 4:10] = 1
    ref[5:8, 5:8, 5:8] = 4
    ref[20:24, 30:34, 30:34] = 4           # a second, separate enhancing lesion
    pred = np.roll(ref, 1, axis=2)
    ours = lesionwise_label_maps(pred, ref, (1.0, 1.0, 1.0))
    assert (ours["whole"].ref_lesions, ours["core"].ref_lesions,
            ours["enhancing"].ref_lesions) == (2, 2, 2)
    assert ours["whole"].dice == pytest.approx(
        (dice(pred[:15] > 0, ref[:15] > 0) + dice(pred[15:] > 0, ref[15:] > 0)) / 2)
    as_2023 = lesionwise_label_maps(np.where(pred == 4, 3, pred), ref, (1.0, 1.0, 1.0),
                                    BRATS2023, BRATS2018)
    assert as_2023 == ours


def test_cli_lesion_wise_single_and_folders(tmp_path, capsys):
    ref = np.zeros(SHAPE, dtype=np.uint8)
    ref[2:12, 2:12, 2:12] = 2
    ref[5:8, 5:8, 5:8] = 4
    ref[20:24, 30:34, 30:34] = 2
    pred = ref.copy()
    pred[20:24, 30:34, 30:34] = 0                                 # whole tumour lesion missed
    p = write_labels(tmp_path / "preds" / "c1.nii.gz", pred)
    r = write_labels(tmp_path / "refs" / "c1_seg.nii.gz", ref)
    assert main(["evaluate", str(p), str(r), "--lesion-wise"]) == 0
    table = capsys.readouterr().out
    assert "lesion-wise (BraTS 2025: panoptica" in table
    assert main(["evaluate", str(p), str(r), "--lesion-wise", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    whole = report["lesion_wise"]["whole"]
    assert (whole["tp"], whole["fn"], whole["dice"]) == (1, 1, 1.0)
    assert report["lesion_wise_rules"] == "brats2025"            # the default rules
    assert main(["evaluate", "--pred-dir", str(p.parent), "--ref-dir", str(r.parent),
                 "--lesion-wise", "--json", "--csv", str(tmp_path / "m.csv")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary_lesion_wise"]["mean"]["whole"]["f1"] == pytest.approx(2 / 3)
    assert "panoptica" in report["lesion_wise_definition"]
    assert report["lesion_wise_rules"] == "brats2025"
    rows = list(csv.DictReader((tmp_path / "m.csv").read_text().splitlines()))
    assert rows[0]["whole_lesionwise_fn"] == "1" and rows[0]["lesionwise_rules"] == "brats2025"
    assert rows[1]["case"] == "mean" and float(rows[1]["enhancing_lesionwise_dice"]) == 1.0
    assert main(["evaluate", str(p), str(r), "--lesion-rules", "brats2025"]) == 0
    assert "lesion-wise (BraTS 2025: panoptica" in capsys.readouterr().out
    assert main(["evaluate", str(p), str(r)]) == 0          # without the flag: no lesion block
    assert "lesion-wise" not in capsys.readouterr().out


def test_missing_panoptica_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    lesionwise._evaluator.cache_clear()
    monkeypatch.setitem(sys.modules, "panoptica", None)
    try:
        with pytest.raises(OMNetError, match="pip install 'omnet\\[lesionwise\\]'"):
            lesionwise.require_panoptica()
        p = write_labels(tmp_path / "p.nii.gz", np.ones((4, 4, 4), np.uint8))
        assert main(["evaluate", str(p), str(p), "--lesion-wise"]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    finally:
        lesionwise._evaluator.cache_clear()
