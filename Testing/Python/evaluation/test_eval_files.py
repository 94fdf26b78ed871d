"""One case from files, folders matched by case id, reports, and the ``omnet evaluate`` CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.cli import main
from omnet.errors import GeometryError, InputError
from omnet.evaluation.files import evaluate_files
from omnet.evaluation.folders import case_id_from_name, collect_label_files, evaluate_folders
from omnet.evaluation.metrics import dice
from omnet.evaluation.report import summarize, write_csv

SPACING_XYZ = (0.8, 1.2, 2.5)
ORIGIN = (-10.0, 20.0, 5.5)


def write_labels(path: Path, labels: np.ndarray, spacing=SPACING_XYZ, origin=ORIGIN,
                 direction=None) -> Path:
    image = sitk.GetImageFromArray(labels)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    if direction is not None:
        image.SetDirection(direction)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path))
    return path


def tumour(shape=(12, 16, 20), shift=0, enhancing=4) -> np.ndarray:
    """Edema box around a core box around an enhancing box (2018 labels by default)."""
    labels = np.zeros(shape, dtype=np.uint8)
    labels[2:10, 3:13, 4 + shift:16 + shift] = 2
    labels[4:8, 5:11, 6 + shift:14 + shift] = 1
    labels[5:7, 6:10, 8 + shift:12 + shift] = enhancing
    return labels


def test_files_use_the_spacing_along_the_right_axes(tmp_path):
    ref = tumour()
    pred = tumour(shift=2)
    result = evaluate_files(write_labels(tmp_path / "p.nii.gz", pred),
                            write_labels(tmp_path / "r.nii.gz", ref))
    # Shifted by 2 voxels along x (array axis 2): the surfaces facing along x move by
    # 2 * 0.8 mm, all others stay, so HD95 (max of directed 95th percentiles) is 1.6 mm.
    assert result.regions["whole"].hd95 == pytest.approx(2 * SPACING_XYZ[0])
    assert result.regions["whole"].dice == pytest.approx(dice(pred > 0, ref > 0))
    voxel_ml = np.prod(SPACING_XYZ) / 1000
    assert result.regions["core"].ref_ml == pytest.approx(np.isin(ref, (1, 4)).sum() * voxel_ml)
    assert (result.pred_scheme, result.ref_scheme) == ("brats2018", "brats2018")


def test_schemes_detected_or_given_on_either_side(tmp_path):
    ref = write_labels(tmp_path / "r.nii.gz", tumour())
    pred_2023 = write_labels(tmp_path / "p.nii.gz", tumour(enhancing=3))
    result = evaluate_files(pred_2023, ref)
    assert result.pred_scheme == "brats2023"
    assert all(m.dice == 1.0 for m in result.regions.values())
    msd = tumour(enhancing=3)
    msd[msd == 2], msd[msd == 1] = 9, 2
    msd[msd == 9] = 1
    msd_path = write_labels(tmp_path / "msd.nii.gz", msd)
    result = evaluate_files(msd_path, ref, pred_labels="msd")
    assert all(m.dice == 1.0 for m in result.regions.values())
    with pytest.raises(InputError, match=r"\[4\] are not in scheme brats2023"):
        evaluate_files(pred_2023, ref, ref_labels="brats2023")


@pytest.mark.parametrize("change", ["size", "spacing", "origin", "direction"])
def test_geometry_mismatch_is_an_error(tmp_path, change):
    ref = write_labels(tmp_path / "r.nii.gz", tumour())
    kwargs = {"size": {"labels": tumour(shape=(12, 16, 21))},
              "spacing": {"spacing": (0.8, 1.2, 2.0)},
              "origin": {"origin": (-10.0, 20.0, 6.5)},
              "direction": {"direction": (0, 1, 0, 1, 0, 0, 0, 0, 1)}}[change]
    labels = kwargs.pop("labels", tumour())
    pred = write_labels(tmp_path / "p.nii.gz", labels, **kwargs)
    with pytest.raises(GeometryError, match=change):
        evaluate_files(pred, ref)


@pytest.mark.parametrize("code", ["RAS", "SPL", "ILA"])
def test_a_reoriented_copy_is_named_as_such_and_reorienting_it_fixes_it(tmp_path, code):
    # The same voxels re-saved in another axis order / direction (nibabel's RAS, say) need
    # a lossless reorientation, not a resampling; the message says which orientation.
    ref = write_labels(tmp_path / "r.nii.gz", tumour())
    moved = sitk.DICOMOrient(sitk.ReadImage(str(ref)), code)
    sitk.WriteImage(moved, str(tmp_path / "p.nii.gz"))
    with pytest.raises(GeometryError, match=r"same voxels in another orientation.*'LPS'") as err:
        evaluate_files(tmp_path / "p.nii.gz", ref)
    assert "\n" not in str(err.value)
    sitk.WriteImage(sitk.DICOMOrient(moved, "LPS"), str(tmp_path / "back.nii.gz"))
    assert evaluate_files(tmp_path / "back.nii.gz", ref).regions["whole"].dice == 1.0
    # a half-voxel shift of the reoriented copy is another grid: resample, as before
    moved.SetOrigin(tuple(np.add(moved.GetOrigin(), (0.4, 0.0, 0.0))))
    sitk.WriteImage(moved, str(tmp_path / "p.nii.gz"))
    with pytest.raises(GeometryError, match="resample the prediction"):
        evaluate_files(tmp_path / "p.nii.gz", ref)


def test_tiny_header_rounding_is_tolerated(tmp_path):
    ref = write_labels(tmp_path / "r.nii.gz", tumour())
    pred = write_labels(tmp_path / "p.nii.gz", tumour(), origin=(-10.0 + 1e-5, 20.0, 5.5))
    assert evaluate_files(pred, ref).regions["whole"].dice == 1.0


def test_unusable_label_files(tmp_path):
    ref = write_labels(tmp_path / "r.nii.gz", tumour())
    odd = tumour()
    odd[0, 0, 0] = 5
    with pytest.raises(InputError, match=r"label values \[1, 2, 4, 5\]"):
        evaluate_files(write_labels(tmp_path / "odd.nii.gz", odd), ref)
    image = (np.arange(12 * 16 * 20) % 700).reshape(12, 16, 20).astype(np.int16)  # an MRI
    with pytest.raises(InputError, match=r"\[1, 2, 3, 4, 5, 6, \.\.\. 699\] \(699 values: "
                                         r"an image, not a label map\?\)") as error:
        evaluate_files(write_labels(tmp_path / "mri.nii.gz", image), ref)
    assert len(str(error.value)) < 200
    fractional = tumour().astype(np.float32)
    fractional[0, 0, 0] = 0.5
    with pytest.raises(InputError, match="non-integer"):
        evaluate_files(write_labels(tmp_path / "f.nii.gz", fractional), ref)
    four_d = sitk.JoinSeries([sitk.GetImageFromArray(tumour())] * 2)
    sitk.WriteImage(four_d, str(tmp_path / "4d.nii.gz"))
    with pytest.raises(InputError, match="not a 3D"):
        evaluate_files(tmp_path / "4d.nii.gz", ref)
    (tmp_path / "junk.nii.gz").write_bytes(b"not an image")
    with pytest.raises(InputError, match="cannot read"):
        evaluate_files(tmp_path / "junk.nii.gz", ref)
    with pytest.raises(InputError, match="not found"):
        evaluate_files(tmp_path / "missing.nii.gz", ref)


@pytest.mark.parametrize("side", ["prediction", "reference"])
def test_a_label_map_with_voxels_no_mri_has_is_refused(tmp_path, capsys, side):
    """Both files on one grid in metres under a millimetre header: Dice is unchanged but HD95
    and volumes come out 1000 and 10^9 times off, so the files are refused naming the file."""
    in_metres = tuple(s / 1000 for s in SPACING_XYZ)
    pred = write_labels(tmp_path / "p.nii.gz", tumour(shift=2), spacing=in_metres)
    ref = write_labels(tmp_path / "r.nii.gz", tumour(), spacing=in_metres)
    if side == "reference":
        pred = write_labels(tmp_path / "p.nii.gz", tumour(shift=2))
    with pytest.raises(InputError, match=rf"^{side} (p|r)\.nii\.gz: voxels of 0\.0008 x "
                                         r"0\.0012 x 0\.0025 mm, outside any MRI's"):
        evaluate_files(pred, ref)
    assert main(["evaluate", str(pred), str(ref)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize(("name", "case"), [
    ("Brats18_2013_2_1_seg.nii.gz", "Brats18_2013_2_1"),
    ("Brats18_2013_2_1.nii.gz", "Brats18_2013_2_1"),
    ("BraTS-GLI-00000-000-seg.nii.gz", "BraTS-GLI-00000-000"),
    ("case7_pred.nii", "case7"),
    ("case7.SEG.mha", "case7"),
    ("BRATS_001.nii.gz", "BRATS_001"),
    ("seg.nii.gz", "seg"),
    ("Brats18_2013_2_1_omnet.nii.gz", "Brats18_2013_2_1"),   # omnet segment -o FOLDER/
    ("BraTS-GLI-00000-000_OMNET.nrrd", "BraTS-GLI-00000-000"),
])
def test_case_ids(name, case):
    assert case_id_from_name(name) == case


def make_folders(tmp_path: Path) -> tuple[Path, Path]:
    """References as BraTS case folders; predictions as flat files with mixed suffixes."""
    refs, preds = tmp_path / "refs", tmp_path / "preds"
    for case in ("A", "B", "C"):
        write_labels(refs / case / f"{case}_seg.nii.gz", tumour())
        write_labels(refs / case / f"{case}_flair.nii.gz", np.ones((12, 16, 20), np.uint8))
    write_labels(preds / "A.nii.gz", tumour())
    write_labels(preds / "B-seg.nii.gz", tumour(shift=2, enhancing=3))
    write_labels(preds / "D_pred.nii.gz", tumour())
    return preds, refs


def test_folders_matched_by_id_and_unmatched_cases_listed(tmp_path):
    preds, refs = make_folders(tmp_path)
    assert sorted(collect_label_files(refs, "references")) == ["A", "B", "C"]
    results = {r.case_id: r for r in evaluate_folders(preds, refs)}
    assert {k: r.status for k, r in results.items()} == {
        "A": "ok", "B": "ok", "C": "missing prediction", "D": "missing reference"}
    assert results["A"].regions["core"].dice == 1.0
    assert results["B"].pred_scheme == "brats2023"
    expected_b = dice(tumour(shift=2) > 0, tumour() > 0)
    assert results["B"].regions["whole"].dice == pytest.approx(expected_b)
    summary = summarize(list(results.values()))
    assert summary["mean"]["whole"]["dice"] == pytest.approx((1.0 + expected_b) / 2)
    assert summary["median"]["whole"]["dice"] == pytest.approx((1.0 + expected_b) / 2)
    assert summary["std"]["whole"]["dice"] == pytest.approx(np.std([1.0, expected_b], ddof=1))


def test_omnet_segment_default_names_match_their_references(tmp_path):
    # ``omnet segment case/ -o preds/`` writes preds/<case>_omnet.nii.gz.
    preds, refs = make_folders(tmp_path)
    for path in preds.iterdir():
        path.unlink()
    write_labels(preds / "A_omnet.nii.gz", tumour(shift=1))
    results = {r.case_id: r for r in evaluate_folders(preds, refs)}
    assert {k: r.status for k, r in results.items()} == {
        "A": "ok", "B": "missing prediction", "C": "missing prediction"}
    # whole tumour: an 8 x 10 x 12 box moved by one voxel along its 12 -> 11/12 overlap
    assert results["A"].regions["whole"].dice == pytest.approx(11 / 12)


def test_the_reference_given_as_its_own_prediction_is_refused(tmp_path):
    # Same file on both sides (or --pred-dir = --ref-dir) would score a perfect Dice 1.
    _, refs = make_folders(tmp_path)
    ref = refs / "A" / "A_seg.nii.gz"
    with pytest.raises(InputError, match="same file"):
        evaluate_files(ref, ref)
    os.link(ref, tmp_path / "linked.nii.gz")
    with pytest.raises(InputError, match="same file"):
        evaluate_files(tmp_path / "linked.nii.gz", ref)
    results = evaluate_folders(refs, refs)
    assert [r.status for r in results] == ["error"] * 3
    assert all("same file" in r.message for r in results)


def test_a_bad_case_is_reported_not_fatal(tmp_path):
    preds, refs = make_folders(tmp_path)
    write_labels(preds / "C.nii.gz", tumour(), spacing=(1, 1, 1))
    results = {r.case_id: r for r in evaluate_folders(preds, refs)}
    assert results["C"].status == "error"
    assert "different voxel grids" in results["C"].message
    assert results["A"].status == "ok"


def test_duplicate_case_ids_are_an_error(tmp_path):
    write_labels(tmp_path / "p" / "A.nii.gz", tumour())
    write_labels(tmp_path / "p" / "A_seg.nii.gz", tumour())
    with pytest.raises(InputError, match="several files for case A"):
        collect_label_files(tmp_path / "p", "predictions")


def test_csv_rows_and_statistics(tmp_path):
    preds, refs = make_folders(tmp_path)
    results = evaluate_folders(preds, refs)
    write_csv(tmp_path / "out.csv", results)
    rows = list(csv.DictReader((tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()))
    assert [r["case"] for r in rows] == ["A", "B", "C", "D", "mean", "median", "std"]
    assert rows[2]["status"] == "missing prediction" and rows[2]["whole_dice"] == ""
    dices = [float(rows[0]["whole_dice"]), float(rows[1]["whole_dice"])]
    assert float(rows[4]["whole_dice"]) == pytest.approx(np.mean(dices), rel=1e-5)
    assert float(rows[1]["whole_hd95"]) == pytest.approx(2 * SPACING_XYZ[0], rel=1e-5)


def test_cli_single_case_table_and_json(tmp_path, capsys):
    ref = write_labels(tmp_path / "r.nii.gz", tumour())
    pred = write_labels(tmp_path / "p.nii.gz", tumour(shift=2))
    assert main(["evaluate", str(pred), str(ref)]) == 0
    table = capsys.readouterr().out
    assert "whole" in table and "enhancing" in table and "HD95" in table
    assert main(["evaluate", str(pred), str(ref), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metrics"]["whole"]["hd95"] == pytest.approx(1.6)
    assert set(report["metrics"]) == {"whole", "core", "enhancing"}


def test_cli_output_into_a_closed_pipe_ends_quietly(tmp_path):
    """``omnet evaluate pred ref --json | head``: the reader is gone before the output is
    written (its end of the pipe is closed first); no traceback, status 141 as SIGPIPE's."""
    ref = write_labels(tmp_path / "r.nii.gz", tumour())
    pred = write_labels(tmp_path / "p.nii.gz", tumour(shift=2))
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "omnet", "evaluate", str(pred), str(ref),
                               "--json"], stdout=write_end, stderr=subprocess.PIPE, text=True,
                              check=False)
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141


def test_cli_folders_csv_and_exit_status(tmp_path, capsys):
    preds, refs = make_folders(tmp_path)
    out = tmp_path / "metrics.csv"
    status = main(["evaluate", "--pred-dir", str(preds), "--ref-dir", str(refs), "--csv",
                   str(out), "--json"])
    assert status == 1  # C and D have no partner
    report = json.loads(capsys.readouterr().out)
    assert (report["n_evaluated"], report["n_missing"], report["n_error"]) == (2, 2, 0)
    assert out.is_file()


@pytest.mark.parametrize("name, words", [("taken", "taken is a folder"),
                                         ("new/", "new/ names a folder")])
def test_a_csv_that_names_a_folder_is_refused_before_any_work(tmp_path, capsys, name, words):
    # --csv new/ wrote a file named new; --csv of a folder failed only after evaluating
    ref = write_labels(tmp_path / "r.nii.gz", tumour())
    pred = write_labels(tmp_path / "p.nii.gz", tumour())
    (tmp_path / "taken").mkdir()
    before = sorted(tmp_path.rglob("*"))
    assert main(["evaluate", str(pred), str(ref), "--csv", f"{tmp_path}/{name}"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"omnet: error: the CSV file {tmp_path}/{words}; give a file name such as "
        f"{tmp_path / name.rstrip('/') / 'metrics.csv'}"]
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("problem", ["missing", "geometry", "labels", "arguments"])
def test_cli_errors_are_one_line_with_status_2(tmp_path, capsys, problem):
    ref = write_labels(tmp_path / "r.nii.gz", tumour())
    odd = tumour()
    odd[0, 0, 0] = 7
    argv = {"missing": [str(tmp_path / "nope.nii.gz"), str(ref)],
            "geometry": [str(write_labels(tmp_path / "g.nii.gz", tumour(), spacing=(1, 1, 1))),
                         str(ref)],
            "labels": [str(write_labels(tmp_path / "o.nii.gz", odd)), str(ref)],
            "arguments": [str(ref)]}[problem]
    assert main(["evaluate", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("omnet: error: ")


def test_brain_masks_and_side_outputs_beside_predictions_are_no_cases(tmp_path):
    # omnet segment --brain-mask / --probabilities / --attention / --uncertainty may write
    # into the predictions folder; none of those files is a case or a second prediction.
    preds, refs = make_folders(tmp_path)
    brain = np.ones((12, 16, 20), np.uint8)
    for name in ("A_brain_mask", "A_brainmask", "A_mask", "B_bet_mask", "task1_edema",
                 "task3_enhancing", "cga_tumour_pt", "cga_core_top_channel",
                 "A_uncertainty"):
        write_labels(preds / f"{name}.nii.gz", brain)
    results = {r.case_id: r for r in evaluate_folders(preds, refs)}
    assert {k: r.status for k, r in results.items()} == {
        "A": "ok", "B": "ok", "C": "missing prediction", "D": "missing reference"}
    assert results["A"].pred_path.name == "A.nii.gz"
    assert results["A"].regions["whole"].dice == 1.0
    # alone, X_mask stays a label map (the documented _mask suffix)
    write_labels(tmp_path / "masks" / "A_mask.nii.gz", tumour())
    assert {k: p.name for k, p in collect_label_files(tmp_path / "masks", "p").items()} == {
        "A": "A_mask.nii.gz"}


def test_predictions_in_case_folders_as_omnet_segment_writes_them(tmp_path):
    # omnet segment CASE -o CASE/ writes CASE/<case>_omnet.nii.gz
    _, refs = make_folders(tmp_path)
    preds = tmp_path / "nested"
    write_labels(preds / "A" / "A_omnet.nii.gz", tumour(shift=1))
    write_labels(preds / "A" / "A_flair.nii.gz", np.ones((12, 16, 20), np.uint8))
    write_labels(preds / "B" / "B_omnet.nii.gz", tumour())
    write_labels(preds / "B" / "B_t1ce_omnet.nii.gz", tumour())
    results = {r.case_id: r for r in evaluate_folders(preds, refs)}
    assert {k: r.status for k, r in results.items()} == {
        "A": "ok", "B": "error", "C": "missing prediction"}
    # whole tumour: an 8 x 10 x 12 box moved by one voxel along its 12 -> 11/12 overlap
    assert results["A"].regions["whole"].dice == pytest.approx(11 / 12)
    assert "\n" not in results["B"].message
    assert "B_omnet.nii.gz, B_t1ce_omnet.nii.gz" in results["B"].message
    # segmented in place: the same tree gives <case>_omnet as prediction, *_seg as reference
    write_labels(refs / "A" / "A_omnet.nii.gz", tumour(shift=1))
    results = {r.case_id: r for r in evaluate_folders(refs, refs)}
    assert {k: r.status for k, r in results.items()} == {
        "A": "ok", "B": "missing prediction", "C": "missing prediction"}
    assert results["A"].regions["whole"].dice == pytest.approx(11 / 12)


def test_missing_predictions_scored_as_empty_on_request(tmp_path, capsys):
    # BraTS challenge scoring: a case without a prediction counts as an empty prediction.
    preds, refs = make_folders(tmp_path)
    (preds / "D_pred.nii.gz").unlink()
    out = tmp_path / "metrics.csv"
    argv = ["evaluate", "--pred-dir", str(preds), "--ref-dir", str(refs), "--json"]
    assert main(argv) == 1                         # default: C left out of the means
    report = json.loads(capsys.readouterr().out)
    # A exact; B shifted 2 voxels along the 12-voxel side of the 8 x 10 x 12 edema box
    assert report["summary"]["mean"]["whole"]["dice"] == pytest.approx((1 + 10 / 12) / 2)
    assert main([*argv, "--missing-as-empty", "--csv", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scored_as_empty"] == ["C"]
    case_c = report["cases"][2]
    assert (case_c["case"], case_c["status"], case_c["scored_as_empty"]) == ("C", "ok", True)
    for region in ("whole", "core", "enhancing"):   # the reference has all three regions
        assert case_c["metrics"][region]["dice"] == 0.0
        assert case_c["metrics"][region]["hd95"] == 373.13
    mean = report["summary"]["mean"]
    assert mean["whole"]["dice"] == pytest.approx((1 + 10 / 12 + 0) / 3)
    assert mean["enhancing"]["dice"] == pytest.approx((1 + 2 / 4 + 0) / 3)   # 4 wide, 2 off
    assert mean["whole"]["hd95"] == pytest.approx((0 + 2 * SPACING_XYZ[0] + 373.13) / 3)
    rows = {r["case"]: r for r in csv.DictReader(out.read_text(encoding="utf-8").splitlines())}
    assert [rows[c]["scored_as_empty"] for c in "ABC"] == ["", "", "yes"]
    assert float(rows["C"]["core_dice"]) == 0.0
    assert float(rows["mean"]["whole_dice"]) == pytest.approx((1 + 10 / 12) / 3, rel=1e-5)
