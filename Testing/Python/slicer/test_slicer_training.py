"""OMNetTraining logic: command lines, the dataset scan table, the curves data model."""

from __future__ import annotations

import math

import pytest
from OMNetTrainingLib.command import (
    PRESET_VARIANT,
    TrainingOptions,
    check_command,
    folder_text,
    train_command,
)
from OMNetTrainingLib.curves import TrainingCurves, curves_from_run, decimate
from OMNetTrainingLib.scan import scan_rows, scan_summary


def option_value(argv, flag):
    return argv[argv.index(flag) + 1]


def test_train_command_defaults_and_overrides():
    argv = train_command(["py"], TrainingOptions("/data/brats", "/runs/a"))
    assert argv[:5] == ["py", "-m", "omnet", "train", "/data/brats"]
    assert option_value(argv, "--out") == "/runs/a"
    assert option_value(argv, "--preset") == "quick"
    assert option_value(argv, "--device") == "auto"
    assert option_value(argv, "--progress-format") == "lines"
    for absent in ("--variant", "--width", "--iterations", "--resume"):
        assert absent not in argv
    argv = train_command(["py"], TrainingOptions("/d", "/r", preset="paper", variant="omnet",
                                                 width=16, iterations=500, device="CPU"))
    assert option_value(argv, "--preset") == "paper"
    assert option_value(argv, "--variant") == "omnet"
    assert option_value(argv, "--width") == "16"
    assert option_value(argv, "--iterations") == "500"
    assert option_value(argv, "--device") == "cpu"
    assert "--resume" not in argv


def test_resume_keeps_the_runs_own_settings():
    argv = train_command(["py"], TrainingOptions("/d", "/r", preset="paper", variant="omnet",
                                                 width=16, iterations=500, device="GPU",
                                                 resume=True))
    assert argv[-1] == "--resume"
    assert option_value(argv, "--out") == "/r"
    assert option_value(argv, "--iterations") == "500"  # extends the run
    for absent in ("--preset", "--variant", "--width"):
        assert absent not in argv
    argv = train_command(["py"], TrainingOptions("/d", "/r", resume=True))
    assert "--iterations" not in argv


def test_preset_variant_choice_and_unset_folders():
    assert TrainingOptions("/d", "/r", variant=PRESET_VARIANT).variant == ""
    assert "--variant" not in train_command(["py"], TrainingOptions("/d", "/r",
                                                                    variant=PRESET_VARIANT))
    assert folder_text(None) == "" and folder_text(".") == "" and folder_text(" ") == ""
    assert folder_text("/data/brats") == "/data/brats"


def test_commands_parse_with_the_real_omnet_parser():
    from omnet.cli import build_parser

    parser = build_parser()
    for options in (TrainingOptions("/d", "/r"), TrainingOptions("/d", "/r", resume=True),
                    TrainingOptions("/d", "/r", preset="paper", variant="omnet-se", width=16,
                                    iterations=10, device="CPU")):
        args = parser.parse_args(train_command(["py"], options)[3:])
        assert (args.command, str(args.data_dir), str(args.out)) == ("train", "/d", "/r")
        assert args.resume is options.resume
    args = parser.parse_args(check_command(["py"], "/d")[3:])
    assert args.check and args.progress_format == "lines"


def test_check_command():
    assert check_command(["py"], "/data") == ["py", "-m", "omnet", "train", "/data", "--check",
                                              "--progress-format", "lines"]
    with pytest.raises(ValueError, match="dataset"):
        check_command(["py"], " ")


@pytest.mark.parametrize(("changes", "message"), [
    ({"data_dir": ""}, "dataset"), ({"out_dir": ""}, "output"), ({"preset": "long"}, "preset"),
    ({"variant": "unet"}, "variant"), ({"width": 15}, "width"), ({"iterations": -1}, "iter"),
    ({"device": "TPU"}, "device"),
])
def test_bad_settings_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainingOptions(**{"data_dir": "/d", "out_dir": "/r", **changes})


def test_scan_rows_put_problems_first():
    result = {"cases": [
        {"case": "Brats18_b", "ok": True, "problem": None, "labels": [0, 1, 2, 4]},
        {"case": "Brats18_a", "ok": False, "problem": "missing T1c", "labels": None},
        {"case": "Brats18_c", "ok": False, "labels": [0, 7]},
    ]}
    rows = scan_rows(result)
    assert [row.case for row in rows] == ["Brats18_a", "Brats18_c", "Brats18_b"]
    assert rows[0].problem == "missing T1c" and rows[0].status == "problem"
    assert rows[1].problem.startswith("not usable") and rows[1].labels == "0, 7"
    assert rows[2].labels == "0, 1, 2, 4" and rows[2].status == "ready"
    # omnet train trains on one usable case (without validation): the summary said it could
    # not ('needs at least two usable cases')
    assert scan_summary(rows) == ("3 cases: 1 ready, 2 with problems. With one usable case "
                                  "none is left for validation: the run trains, but its Dice "
                                  "is not measured.")
    assert scan_summary(rows[:2]) == ("2 cases: 0 ready, 2 with problems. Nothing can be "
                                      "trained: no case is usable.")
    assert scan_summary([]) == "No cases found in this folder."
    with pytest.raises(ValueError):
        scan_rows({"cases": "nope"})
    with pytest.raises(ValueError):
        scan_rows({"cases": [{"ok": True}]})


def test_a_usable_case_with_another_brain_outline_says_so_in_its_row():
    rows = scan_rows({"cases": [
        {"case": "a", "ok": True, "labels": [0, 1], "other_patient_suspected": "FLAIR (Dice 0.92)"},
        {"case": "b", "ok": True, "labels": [0, 1], "other_patient_suspected": ""}]})
    assert rows[0].status == "ready"
    assert rows[0].problem == ("brain outline unlike the T1c's: FLAIR (Dice 0.92); check that "
                               "the series are this case's")
    assert rows[1].problem == ""


def test_curves_follow_the_curriculum_and_validation():
    curves = TrainingCurves()
    assert curves.progress() == (0.0, None)
    for i in range(1, 5):
        loss = {"task1": 1.0 / i} | ({"task2": 2.0 / i} if i > 2 else {})
        assert curves.add({"kind": "train", "iteration": i * 10, "total": 80, "stage": 1,
                           "loss": loss, "lr": 1e-3, "patches_per_s": 120.0,
                           "eta_s": 60.0}) == "train"
    assert curves.add({"kind": "validation", "iteration": 40,
                       "dice": {"whole": 0.8, "core": 0.6, "enhancing": 0.5},
                       "best": True}) == "validation"
    assert curves.add({"kind": "train", "loss": {}}) is None
    assert curves.add({"kind": "other", "iteration": 1}) is None
    assert curves.loss["task1"][0] == [10, 20, 30, 40]
    assert curves.loss["task2"] == ([30, 40], [2.0 / 3, 0.5])
    assert curves.loss["task3"] == ([], [])
    assert curves.progress() == (0.5, 60.0)
    assert curves.best == (40, {"whole": 0.8, "core": 0.6, "enhancing": 0.5})
    series = curves.series()
    assert set(series) == {"loss task 1 (tumour vs. brain)", "loss task 2 (classes)",
                           "Dice whole tumour", "Dice tumour core", "Dice enhancing tumour"}
    status = curves.status_text()
    assert "step 40/80" in status and "120 patches/s" in status and "whole 0.80" in status


def test_non_finite_values_are_dropped():
    curves = TrainingCurves()
    curves.add({"kind": "train", "iteration": 1, "total": 10,
                "loss": {"task1": math.nan, "task2": "inf", "task3": 0.3}})
    assert curves.loss["task1"] == ([], []) and curves.loss["task3"] == ([1.0], [0.3])


def test_decimate_averages_equal_bins():
    xs = list(range(10))
    ys = [float(x) * 2 for x in xs]
    assert decimate(xs, ys, 20) == (xs, ys)
    out_x, out_y = decimate(xs, ys, 5)
    assert out_x == [0.5, 2.5, 4.5, 6.5, 8.5]
    assert out_y == [1.0, 5.0, 9.0, 13.0, 17.0]
    out_x, _ = decimate(list(range(1000)), [0.0] * 1000, 7)
    assert len(out_x) == 7 and out_x == sorted(out_x)
    with pytest.raises(ValueError):
        decimate([1, 2], [1], 5)


def test_a_resumed_run_keeps_its_curves_and_replaces_repeated_iterations(tmp_path):
    (tmp_path / "metrics.csv").write_text(
        "iteration,stage,lr,loss_task1,loss_task2,loss_task3,loss_total,patches,patches_per_s,"
        "seconds\n"
        "1,1,0.05,0.9,,,0.9,6,2.0,3.0\n"
        "2,2,0.05,0.8,0.7,,1.5,6,2.0,3.0\n"
        "3,3,0.04,0.7,0.6,0.5,1.8,6,2.0,3.0\n"
        "4,3,0.03,0.6,0.5,0.4,1.5,6,2.0,3.0\n")
    (tmp_path / "validation.csv").write_text(
        "iteration,dice_whole,dice_core,dice_enhancing,dice_mean,best,seconds\n"
        "2,0.5,0.4,0.3,0.4,1,10\n4,0.45,0.35,0.25,0.35,0,10\n")
    curves = curves_from_run(tmp_path)
    assert curves.loss["task1"] == ([1.0, 2.0, 3.0, 4.0], [0.9, 0.8, 0.7, 0.6])
    assert curves.loss["task3"] == ([3.0, 4.0], [0.5, 0.4])
    assert curves.dice["whole"] == ([2.0, 4.0], [0.5, 0.45])
    assert curves.best == (2, {"whole": 0.5, "core": 0.4, "enhancing": 0.3})
    assert curves.latest_train is None
    # the run resumes from its checkpoint at iteration 2: iterations 3 and 4 come again
    curves.add({"kind": "train", "iteration": 3, "total": 10,
                "loss": {"task1": 0.65, "task2": 0.55, "task3": 0.45}})
    assert curves.loss["task1"] == ([1.0, 2.0, 3.0], [0.9, 0.8, 0.65])
    assert curves.loss["task3"] == ([3.0], [0.45])


def test_a_folder_without_history_gives_empty_curves(tmp_path):
    curves = curves_from_run(tmp_path / "new-run")
    assert all(not xs for xs, _ in curves.loss.values())
    assert all(not xs for xs, _ in curves.dice.values()) and curves.best is None
