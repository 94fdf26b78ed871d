"""Stopping ``omnet train`` (Ctrl-C, SIGTERM, the Slicer panel's Stop) at each phase, and the
refusals and failures that must come before anything is written."""

from __future__ import annotations

import csv
import errno
import os
import shutil
import signal

import numpy as np
import pytest
import torch
from test_training_cli import train_argv

from omnet.cli import main
from omnet.model.weights import load_model
from omnet.training import dataset as dataset_module
from omnet.training import validation as validation_module


def _omnet_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("omnet:")]


def _resume_argv(data, run, cache):
    return ["train", str(data), "--out", str(run), "--cache", str(cache), "--progress-format",
            "none", "--threads", "1", "--resume"]


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_while_caching_ends_after_the_case_in_progress(synthetic_dataset, tmp_path,
                                                              capsys, monkeypatch, signum,
                                                              status):
    """The signal comes while the first of three cases is cached: that case is cached whole,
    the others are not started, nothing of the run is written, and the exit status is
    128 + the signal's (the stop used to wait until every case was cached)."""
    cache, run = tmp_path / "cache", tmp_path / "run"
    prepare = dataset_module.prepare_case

    def prepare_then_signal(case, cache_dir, dilation):
        cached = prepare(case, cache_dir, dilation)
        os.kill(os.getpid(), signum)
        return cached

    monkeypatch.setattr(dataset_module, "prepare_case", prepare_then_signal)
    threads = torch.get_num_threads()
    code = main(train_argv(synthetic_dataset, run, cache))
    torch.set_num_threads(threads)
    lines = _omnet_lines(capsys.readouterr().err)
    assert code == status
    assert lines == [
        "omnet: stopping after the case being prepared or the iteration in progress (again "
        "to abort)",
        "omnet: cancelled: stopped while preparing the cases, after 1 of 3 cases; the same "
        "command goes on from there"]
    entries = sorted(p.name for p in cache.iterdir())
    assert len(entries) == 1 and entries[0].startswith("case01-"), entries  # no .partial-*
    assert sorted(p.name for p in (cache / entries[0]).iterdir()) == [
        "centres_1.npy", "centres_2.npy", "centres_3.npy", "classes.npy", "images.npy",
        "meta.json"]
    assert not run.exists()


def test_a_stop_in_the_final_validation_still_exports_the_model(synthetic_dataset, tmp_path,
                                                                capsys, monkeypatch):
    """Every iteration is done when the stop comes in the final validation (after the first
    of its two cases): the validation ends there and the model is exported, its card saying
    that the final validation was stopped (it used to end with no model until --resume)."""
    run = tmp_path / "run"
    score = validation_module.region_dice
    calls = []

    def score_then_signal(predicted, reference):
        calls.append(1)
        if len(calls) == 3:  # the first case of the second (final) validation
            os.kill(os.getpid(), signal.SIGTERM)
        return score(predicted, reference)

    monkeypatch.setattr(validation_module, "region_dice", score_then_signal)
    threads = torch.get_num_threads()
    code = main(train_argv(synthetic_dataset, run, tmp_path / "cache", "--iterations", "6",
                      "--val-cases", "case02", "case03"))
    torch.set_num_threads(threads)
    err = capsys.readouterr().err
    assert code == 0, err
    assert len(calls) == 3  # the final validation's second case was not segmented
    assert "the final validation was stopped: the model is exported without its figures" in err
    card = load_model(run / "model.safetensors").card
    assert card.training["final_validation"] == "stopped by the user: not measured"
    assert card.training["checkpoint_iteration"] == 3  # the best of the earlier validation
    assert card.metrics["validation_iteration"] == 3
    assert card.description.endswith("Its final validation was stopped by the user: the "
                                     "figures are those of iteration 3.")
    monkeypatch.setattr(validation_module, "region_dice", score)
    assert main(_resume_argv(synthetic_dataset, run, tmp_path / "cache")) == 0  # measures it
    torch.set_num_threads(threads)
    rows = list(csv.DictReader((run / "validation.csv").open(newline="")))
    assert [int(r["iteration"]) for r in rows] == [3, 6]
    card = load_model(run / "model.safetensors").card
    assert "final_validation" not in card.training
    assert card.metrics["validation_iteration"] == int(max(
        rows, key=lambda r: float(r["dice_mean"]))["iteration"])


def test_a_run_of_one_case_is_logged_in_the_singular(synthetic_dataset, tmp_path, capsys):
    threads = torch.get_num_threads()
    code = main(train_argv(synthetic_dataset, tmp_path / "run", tmp_path / "cache", "--iterations",
                      "1", "--val-cases", "case02", "case03"))
    torch.set_num_threads(threads)
    assert code == 0
    assert "training on 1 case, validating on 2; 1 iteration on cpu" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--out", "--cache"])
@pytest.mark.parametrize("inside", [False, True, "in other letter case"])
def test_a_run_folder_or_cache_in_the_dataset_is_refused_before_anything_is_written(
        synthetic_dataset, tmp_path, capsys, option, inside):
    """--out or --cache the dataset folder, or a folder in it: the next scan would read the
    run folder or the cache (or its entries) as a case; named in other letter case it is
    that folder on macOS and Windows."""
    data = tmp_path / "data"
    shutil.copytree(synthetic_dataset, data)
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    place = {False: data, True: data / "inner",
             "in other letter case": tmp_path / "DATA" / "inner"}[inside]
    run, cache = (place, tmp_path / "cache") if option == "--out" else (tmp_path / "run", place)
    code = main(train_argv(data, run, cache))
    where = f"is inside the dataset folder {data}" if inside else "is the dataset folder"
    what, article = (("the run folder", "an") if option == "--out"
                     else ("the pre-processing cache", "a"))
    assert code == 2
    assert _omnet_lines(capsys.readouterr().err) == [
        f"omnet: error: {what} {place} {where}, where it would be read as a case; "
        f"choose {article} {option} outside the dataset"]
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()


def test_a_full_disk_in_the_cache_is_one_line_naming_it(synthetic_dataset, tmp_path, capsys,
                                                        monkeypatch):
    """A cache that cannot be written stops the run in one line (the cases used to be left
    out one by one, 'No space left on device' as their problem, and training went on with
    those that remained); nothing half-written is left."""
    cache, run = tmp_path / "cache", tmp_path / "run"

    def full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    code = main(train_argv(synthetic_dataset, run, cache))
    assert code == 2
    assert _omnet_lines(capsys.readouterr().err) == [
        f"omnet: error: cannot write the pre-processing cache {cache}: No space left on "
        "device; free space there or choose another --cache"]
    assert list(cache.iterdir()) == [] and not run.exists()


def test_resume_redoes_a_validation_that_a_stop_cut_short(synthetic_dataset, tmp_path, capsys,
                                                          monkeypatch):
    """A stop during the validation after iteration 3 of 6 (after its first case) checkpoints
    and exits; --resume validates iteration 3 before training on, so validation.csv holds
    both validations and the best network is chosen among them (iteration 3 used to be
    missing for good)."""
    run, cache = tmp_path / "run", tmp_path / "cache"
    score = validation_module.region_dice
    calls = []

    def score_then_signal(predicted, reference):
        calls.append(1)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return score(predicted, reference)

    threads = torch.get_num_threads()
    with monkeypatch.context() as patch:
        patch.setattr(validation_module, "region_dice", score_then_signal)
        stopped = main(train_argv(synthetic_dataset, run, cache, "--iterations", "6",
                             "--val-cases", "case02", "case03"))
    assert stopped == 143
    assert "validation after iteration 3 stopped by request" in capsys.readouterr().err
    assert main(_resume_argv(synthetic_dataset, run, cache)) == 0
    torch.set_num_threads(threads)
    rows = list(csv.DictReader((run / "validation.csv").open(newline="")))
    assert [int(r["iteration"]) for r in rows] == [3, 6]
    best = max(rows, key=lambda r: float(r["dice_mean"]))
    card = load_model(run / "model.safetensors").card
    assert card.metrics["validation_iteration"] == int(best["iteration"])


def test_a_validation_redone_twice_keeps_one_row_in_the_log(tmp_path):
    """A resume redoes the validation of iteration 3 and is killed before its checkpoint
    says so; the next resume validates iteration 3 again: its row replaces the killed run's
    (there were two rows for iteration 3), and the rows before it stay."""
    from omnet.training.monitor import CsvSink, ValidationRecord, read_csv

    def validated(sink: CsvSink, iteration: int, whole: float) -> None:
        sink.on_validation(ValidationRecord(iteration, {"whole": whole, "core": 0.5,
                                                        "enhancing": 0.25}, False, 1.0))

    first = CsvSink(tmp_path)
    first.on_start(0, 6)
    validated(first, 1, 0.1)
    first.close()  # stopped during the validation of iteration 3: nothing of it written
    for whole in (0.3, 0.4):  # two resumes from the checkpoint of iteration 3
        resumed = CsvSink(tmp_path)
        resumed.on_start(3, 6)
        validated(resumed, 3, whole)
        resumed.close()  # killed before the checkpoint
    rows = read_csv(tmp_path / "validation.csv")
    assert [(r["iteration"], r["dice_whole"]) for r in rows] == [("1", "0.1"), ("3", "0.4")]


def test_resume_of_a_finished_run_says_so_and_rewrites_nothing(synthetic_dataset, tmp_path,
                                                               capsys):
    """--resume with no new --iterations on a run that is done: one line saying how to extend
    it, exit 0, and the model file untouched (it used to be exported again, silently)."""
    run, cache = tmp_path / "run", tmp_path / "cache"
    threads = torch.get_num_threads()
    assert main(train_argv(synthetic_dataset, run, cache, "--iterations", "4")) == 0
    model = run / "model.safetensors"
    stamp = model.stat().st_mtime_ns
    capsys.readouterr()
    assert main(_resume_argv(synthetic_dataset, run, cache)) == 0
    torch.set_num_threads(threads)
    assert model.stat().st_mtime_ns == stamp
    assert [ln for ln in capsys.readouterr().err.splitlines() if "complete" in ln] == [
        f"INFO omnet.training.run: the run in {run} is already complete at 4 iterations and "
        "its model is exported: nothing to do; to train it further, resume it with "
        "--iterations M (more than 4)"]
    assert main([*_resume_argv(synthetic_dataset, run, cache), "--export", "last"]) == 0
    torch.set_num_threads(threads)
    assert model.stat().st_mtime_ns != stamp  # another --export is a reason to export again
    assert load_model(model).card.metrics["exported"] == "last"


def test_a_validation_redone_after_a_kill_is_one_point_of_the_curves(tmp_path, monkeypatch):
    """curves.png: the row of iteration 3 that the killed run left in validation.csv is read
    back on resume, and the redone validation of iteration 3 replaces it (it was drawn as a
    second point at iteration 3, a vertical jump in the Dice curve)."""
    from omnet.training import plots
    from omnet.training.monitor import CsvSink, ValidationRecord

    drawn = []
    monkeypatch.setattr(plots, "draw_curves",
                        lambda path, train, lr, dice: drawn.append(dict(dice)))
    record = ValidationRecord(3, {"whole": 0.3, "core": 0.5, "enhancing": 0.25}, False, 1.0)
    killed = CsvSink(tmp_path)
    killed.on_start(3, 6)
    killed.on_validation(record)  # killed before the checkpoint that says so
    killed.close()
    sinks = [CsvSink(tmp_path), plots.PlotSink(tmp_path)]
    for sink in sinks:
        sink.on_start(3, 6)
    redone = ValidationRecord(3, {"whole": 0.4, "core": 0.5, "enhancing": 0.25}, False, 1.0)
    for sink in sinks:
        sink.on_validation(redone)
    assert drawn[-1]["whole"] == [(3, 0.4)]
