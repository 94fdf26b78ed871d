"""BraTS 2023 lesion-wise rules: generated boxes with the expected scores worked out by hand.

Glioma parameters throughout: reference lesions dilated by 3 steps of the 18-neighbourhood,
reference lesions of 50 mm³ or less ignored, misses and spurious lesions scored Dice 0 and
HD95 374 mm. A perfect lesion scores (1, 0); the lesion-wise score is the plain mean over the
kept reference lesions and the false positives.
"""

from __future__ import annotations

import csv
import json
import sys

import numpy as np
import pytest

from omnet.cli import main
from omnet.cli.evaluate import LESION_RULE_CHOICES
from omnet.errors import InputError
from omnet.evaluation.files import evaluate_files
from omnet.evaluation.lesionrules import LESION_RULES, get_lesion_rules
from omnet.evaluation.lesionwise_brats2023 import (
    BRATS2023_GLIOMA,
    Brats2023Parameters,
    brats2023_label_maps,
    brats2023_region,
    reference_lesions,
)
from omnet.labels import BRATS2018, BRATS2023

SHAPE = (40, 40, 40)
ISO = (1.0, 1.0, 1.0)
PENALTY = 374.0


def box(*slices, shape=SHAPE):
    mask = np.zeros(shape, dtype=bool)
    mask[slices] = True
    return mask


def cube(start, size):
    return box(*(slice(s, s + size) for s in start))


def scores(m):
    return (m.dice, m.hd95, m.tp, m.fp, m.fn, m.ignored)


A = cube((5, 5, 5), 6)            # 216 voxels
B = cube((25, 25, 25), 5)         # 125 voxels, far from A


def test_glioma_parameters():
    assert (BRATS2023_GLIOMA.dilation, BRATS2023_GLIOMA.min_volume_mm3,
            BRATS2023_GLIOMA.hd95_penalty_mm) == (3, 50.0, 374.0)
    with pytest.raises(ValueError, match="dilation"):
        Brats2023Parameters(dilation=-1)


def test_perfect_match():
    m = brats2023_region(A | B, A | B, ISO)
    assert scores(m) == (1.0, 0.0, 2, 0, 0, 0)
    assert (m.ref_lesions, m.pred_lesions) == (2, 2)


def test_missed_lesion_scores_zero_and_374():
    m = brats2023_region(A, A | B, ISO)
    assert scores(m) == (pytest.approx((1 + 0) / 2), pytest.approx((0 + PENALTY) / 2),
                         1, 0, 1, 0)


@pytest.mark.parametrize("spurious", [B, cube((30, 5, 30), 1)])
def test_spurious_lesion_of_any_size_scores_zero_and_374(spurious):
    """The size threshold applies to reference lesions only: a one-voxel false positive counts."""
    m = brats2023_region(A | spurious, A, ISO)
    assert scores(m) == (pytest.approx(0.5), pytest.approx(PENALTY / 2), 1, 1, 0, 0)


def test_small_reference_lesion_is_ignored():
    small = cube((25, 25, 25), 3)          # 27 voxels <= 50 mm³
    missed = brats2023_region(A, A | small, ISO)
    assert scores(missed) == (1.0, 0.0, 1, 0, 0, 1)
    # a prediction on it is neither scored nor a false positive
    assert scores(brats2023_region(A | small, A | small, ISO)) == (1.0, 0.0, 1, 0, 0, 1)
    # nothing left to score: Dice 1, HD95 0
    assert scores(brats2023_region(np.zeros(SHAPE, bool), small, ISO)) == (1.0, 0.0, 0, 0, 0, 1)


def test_size_threshold_is_in_mm3_and_inclusive():
    fifty = box(slice(25, 27), slice(25, 30), slice(25, 30))        # 50 voxels
    assert brats2023_region(A, A | fifty, ISO).ignored == 1           # 50 mm³: left out
    fifty_one = fifty | cube((27, 25, 25), 1)
    assert brats2023_region(A, A | fifty_one, ISO).fn == 1            # 51 mm³: a miss
    small = cube((25, 25, 25), 3)                                     # 27 voxels
    assert brats2023_region(A, A | small, (2.0, 1.0, 1.0)).fn == 1    # 54 mm³: a miss


def test_two_predicted_components_on_one_reference_lesion():
    """The whole reference cube, and one voxel 2 voxels past its face (within 3 dilation
    steps): both belong to the lesion, so Dice = 2·1000 / (1000 + 1001) and no false
    positive; the extra voxel's surface (√3 mm²) is far under 5% of the union's, so HD95 0."""
    ref = cube((10, 10, 10), 10)                                       # indices 10..19
    pred = ref | cube((22, 14, 14), 1)                                 # gap: 20, 21
    m = brats2023_region(pred, ref, ISO)
    assert (m.pred_lesions, m.tp, m.fp, m.fn) == (2, 1, 0, 0)
    assert m.dice == pytest.approx(2000 / 2001)
    assert m.hd95 == 0.0


@pytest.mark.parametrize(("offset", "matched"), [
    ((3, 0, 0), True),     # three steps along an axis
    ((4, 0, 0), False),
    ((2, 2, 2), True),     # six coordinate moves, two per step
    ((3, 3, 2), False),    # eight moves: a fourth step (a 3 x 3 x 3 cube step would reach)
])
def test_dilation_reach_is_three_steps_of_the_18_neighbourhood(offset, matched):
    ref = cube((10, 10, 10), 10)                                       # last voxel 19
    speck = cube(tuple(19 + o if o else 15 for o in offset), 1)
    m = brats2023_region(ref | speck, ref, ISO)
    assert (m.pred_lesions, m.fp) == (2, 0 if matched else 1)
    if not matched:
        assert m.dice == pytest.approx((2 * 1000 / 2000 + 0) / 2)


@pytest.mark.parametrize(("gap", "lesions"), [(6, 1), (7, 2)])
def test_reference_lesions_closer_than_two_dilations_are_one(gap, lesions):
    first = box(slice(5, 9), slice(5, 9), slice(5, 9))                 # 64 voxels
    second = box(slice(9 + gap, 13 + gap), slice(5, 9), slice(5, 9))
    assert reference_lesions(first | second, 3)[1] == lesions
    m = brats2023_region(first, first | second, ISO)
    if lesions == 1:       # one lesion of 128 voxels, half found
        assert (m.tp, m.fn, m.dice) == (1, 0, pytest.approx(2 * 64 / (64 + 128)))
    else:                  # one found perfectly, one missed
        assert scores(m) == (pytest.approx(0.5), pytest.approx(PENALTY / 2), 1, 0, 1, 0)


def test_shifted_lesion_dice_and_hd95():
    """Shifted one voxel along axis 0: Dice 2·900/2000; HD95 one step (see test_eval_surfels)."""
    ref = cube((10, 10, 10), 10)
    m = brats2023_region(np.roll(ref, 1, axis=0), ref, (2.0, 1.0, 1.0))
    assert (m.dice, m.hd95) == (pytest.approx(0.9), pytest.approx(2.0))


def test_empty_sides():
    empty = np.zeros(SHAPE, dtype=bool)
    assert scores(brats2023_region(empty, empty, ISO)) == (1.0, 0.0, 0, 0, 0, 0)
    assert scores(brats2023_region(empty, A, ISO)) == (0.0, PENALTY, 0, 0, 1, 0)
    assert scores(brats2023_region(A, empty, ISO)) == (0.0, PENALTY, 0, 1, 0, 0)


def label_maps():
    """Reference (BraTS 2018 labels): one tumour with edema, necrosis and enhancing tumour,
    and a separate edema-only lesion that the prediction misses."""
    ref = np.zeros(SHAPE, dtype=np.uint8)
    ref[2:14, 2:14, 2:14] = 2
    ref[4:12, 4:12, 4:12] = 1
    ref[6:10, 6:10, 6:10] = 4                  # 64 voxels
    ref[25:30, 25:30, 25:30] = 2
    pred = ref.copy()
    pred[25:30, 25:30, 25:30] = 0
    return pred, ref


def test_regions_and_both_label_schemes():
    pred, ref = label_maps()
    ours = brats2023_label_maps(pred, ref, ISO)
    assert scores(ours["whole"]) == (pytest.approx(0.5), pytest.approx(187.0), 1, 0, 1, 0)
    assert scores(ours["core"]) == (1.0, 0.0, 1, 0, 0, 0)
    assert scores(ours["enhancing"]) == (1.0, 0.0, 1, 0, 0, 0)
    as_2023 = brats2023_label_maps(np.where(pred == 4, 3, pred), ref, ISO, BRATS2023,
                                   BRATS2018)
    assert as_2023 == ours


def write_labels(path, labels):
    import SimpleITK as sitk

    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(sitk.GetImageFromArray(labels), str(path))
    return path


def test_rule_names_match_the_cli_choices():
    assert tuple(LESION_RULES) == LESION_RULE_CHOICES
    assert get_lesion_rules("brats2023").metrics == ("dice", "hd95", "tp", "fp", "fn",
                                                      "ignored")
    with pytest.raises(InputError, match="unknown lesion-wise rules 'brats2019'"):
        get_lesion_rules("brats2019")


def test_files_api_names_the_rules(tmp_path):
    pred, ref = label_maps()
    p = write_labels(tmp_path / "p.nii.gz", pred)
    r = write_labels(tmp_path / "r.nii.gz", ref)
    result = evaluate_files(p, r, lesion_wise=True, lesion_rules="brats2023")
    assert result.lesion_rules == "brats2023"
    assert result.to_dict()["lesion_wise_rules"] == "brats2023"
    assert result.lesionwise["whole"].fn == 1
    assert evaluate_files(p, r).lesion_rules is None
    with pytest.raises(InputError, match="unknown lesion-wise rules"):
        evaluate_files(p, r, lesion_wise=True, lesion_rules="nope")


def test_cli_brats2023_single_folders_json_csv(tmp_path, capsys, monkeypatch):
    """Needs no panoptica (hidden here); --lesion-rules alone asks for lesion-wise metrics."""
    monkeypatch.setitem(sys.modules, "panoptica", None)
    pred, ref = label_maps()
    p = write_labels(tmp_path / "preds" / "c1.nii.gz", pred)
    r = write_labels(tmp_path / "refs" / "c1_seg.nii.gz", ref)
    assert main(["evaluate", str(p), str(r), "--lesion-rules", "brats2023"]) == 0
    table = capsys.readouterr().out
    assert "lesion-wise (BraTS 2023 glioma: dilation 3" in table
    assert "ignored" in table
    assert main(["evaluate", str(p), str(r), "--lesion-wise", "--lesion-rules", "brats2023",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["lesion_wise_rules"] == "brats2023"
    whole = report["lesion_wise"]["whole"]
    assert (whole["tp"], whole["fn"], whole["dice"], whole["hd95"]) == (1, 1, 0.5, 187.0)
    assert "nsd" not in whole
    out = tmp_path / "m.csv"
    assert main(["evaluate", "--pred-dir", str(p.parent), "--ref-dir", str(r.parent),
                 "--lesion-rules", "brats2023", "--json", "--csv", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["lesion_wise_rules"] == "brats2023"
    assert "43c9052" in report["lesion_wise_definition"]
    assert report["summary_lesion_wise"]["mean"]["whole"]["hd95"] == 187.0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [row["lesionwise_rules"] for row in rows] == ["brats2023"] * 4
    assert rows[0]["whole_lesionwise_fn"] == "1" and rows[0]["whole_lesionwise_ignored"] == "0"
    assert rows[1]["case"] == "mean" and float(rows[1]["whole_lesionwise_dice"]) == 0.5
    assert main(["evaluate", "--pred-dir", str(p.parent), "--ref-dir", str(r.parent),
                 "--lesion-rules", "brats2023"]) == 0
    assert "lwDice, lwHD95: lesion-wise (BraTS 2023" in capsys.readouterr().out


def test_cli_bad_rule_name_is_refused(tmp_path, capsys):
    p = write_labels(tmp_path / "p.nii.gz", np.ones((4, 4, 4), np.uint8))
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", str(p), str(p), "--lesion-rules", "brats2019"])
    assert stop.value.code == 2
    assert "invalid choice: 'brats2019'" in capsys.readouterr().err
