"""``omnet train`` on a tiny synthetic dataset: machine-readable lines, run folder, export,
``--check`` and ``--strict``; every model variant trains."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import memory_case, write_case

import omnet
from omnet.cli import main
from omnet.model import build_model
from omnet.model.weights import load_model
from omnet.protocol import parse_line
from omnet.registry import VARIANTS
from omnet.training import checkpoint as ckpt
from omnet.training.config import apply_overrides, preset_config
from omnet.training.run import RUN_FILES
from omnet.training.runtime import Precision
from omnet.training.schedule import make_plan
from omnet.training.trainer import Trainer

TINY_ARGS = ["--preset", "quick", "--width", "4", "--patch-size", "8", "16", "16",
             "--patches-per-task", "2", "--stage-lengths", "1", "1", "4", "--validate-every", "3",
             "--checkpoint-every", "3", "--no-tensorboard", "--val-cases", "case03",
             "--threads", "1"]


def train_argv(data, run, cache, *extra) -> list[str]:
    """``omnet train`` of the tiny test network from ``data`` into ``run``, quietly."""
    return ["train", str(data), "--out", str(run), "--cache", str(cache), "--progress-format",
            "none", *TINY_ARGS, *extra]


def _events(text: str):
    return [parse_line(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def trained_run(synthetic_dataset, tmp_path_factory):
    """One tiny run through the command line, shared by the tests that read its outputs."""
    root = tmp_path_factory.mktemp("cli_run")
    import contextlib
    import io

    stdout = io.StringIO()
    threads = torch.get_num_threads()
    with contextlib.redirect_stdout(stdout):
        code = main(["train", str(synthetic_dataset), "--out", str(root / "run"), "--cache",
                     str(root / "cache"), "--progress-format", "lines", *TINY_ARGS])
    torch.set_num_threads(threads)
    return code, root / "run", stdout.getvalue()


def test_lines_follow_the_contract(trained_run):
    code, run, text = trained_run
    assert code == 0
    events = _events(text)
    train = [e.data for e in events if e.kind == "metric" and e.data["kind"] == "train"]
    valid = [e.data for e in events if e.kind == "metric" and e.data["kind"] == "validation"]
    assert train and set(train[0]) == {"kind", "iteration", "total", "stage", "loss", "lr",
                                       "patches_per_s", "eta_s"}
    assert set(train[-1]["loss"]) == {"task1", "task2", "task3"} and train[-1]["total"] == 6
    assert [v["iteration"] for v in valid] == [3, 6]
    assert set(valid[0]["dice"]) == {"whole", "core", "enhancing"} and valid[0]["best"] is True
    assert all(0.0 <= d <= 1.0 for v in valid for d in v["dice"].values())
    fractions = [e.fraction for e in events if e.kind == "progress"]
    assert fractions and fractions[-1] == 1.0
    result = [e.data for e in events if e.kind == "result"]
    assert len(result) == 1 and result[0]["run_dir"] == str(run)
    assert result[0]["model"] == str(run / "model.safetensors")


def test_run_folder_holds_config_split_metrics_curves(trained_run):
    _, run, _ = trained_run
    config = json.loads((run / "config.json").read_text())
    assert config["config"]["model"]["width"] == 4 and config["plan"]["total"] == 6
    split = json.loads((run / "split.json").read_text())
    assert split["validation"] == ["case03"] and split["train"] == ["case01", "case02"]
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == list(range(1, 7))
    assert rows[0]["loss_task2"] == "" and rows[-1]["loss_task3"] != ""
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_readme_and_the_help_name_every_file_of_the_run_folder(trained_run, capsys):
    # both left out validation.csv and model.json; the README also initialised_from.json
    _, run, _ = trained_run
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    folder = readme.split("The run folder (`--out`", 1)[1].split("A new run refuses", 1)[0]
    written = {path.name for path in run.iterdir()}
    assert [name for name in sorted(written | set(RUN_FILES)) if name not in folder] == []
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    described = " ".join(capsys.readouterr().out.split())
    assert [name for name in sorted(written) if name not in described] == []


def test_export_is_the_best_network_with_its_card(trained_run):
    _, run, _ = trained_run
    loaded = load_model(run / "model.safetensors")
    card = loaded.card
    assert card.model.width == 4 and card.patch_size == [8, 16, 16]
    assert card.training["data"]["train_cases"] == ["case01", "case02"]
    with open(run / "validation.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    best = max(rows, key=lambda r: float(r["dice_mean"]))
    assert card.training["checkpoint_iteration"] == int(best["iteration"])
    assert card.metrics["validation_dice"]["whole"] == pytest.approx(float(best["dice_whole"]),
                                                                      rel=1e-5)


def test_resume_on_another_dataset_is_refused_before_caching_any_case(
        trained_run, synthetic_dataset, tmp_path, capsys):
    """``--resume`` given another DATA_DIR than the run's: its split's cases are missed from
    the file names, before minutes of pre-processing, and the line names the run's folder."""
    _, run, _ = trained_run
    resumed = tmp_path / "run"
    shutil.copytree(run, resumed)
    other = tmp_path / "other"
    for k in (1, 2, 3):
        write_case(other, f"other{k}", seed=k)
    cache = tmp_path / "cache"
    code = main(["train", str(other), "--out", str(resumed), "--resume", "--cache", str(cache),
                 "--progress-format", "none", "--iterations", "9"])
    assert code == 2
    err = capsys.readouterr().err
    assert ("--resume: cases of the saved split are gone: case01, case02, case03; the run was "
            f"trained on {synthetic_dataset}") in err
    assert not cache.exists()


def test_exported_model_segments_a_case(trained_run, synthetic_dataset, any_tumour_share):
    _, run, _ = trained_run
    result = omnet.segment(synthetic_dataset / "case01", model=run / "model.safetensors",
                           device="cpu", postprocess=False)
    import SimpleITK as sitk

    labels = sitk.GetArrayFromImage(result.labels)
    assert labels.shape == (24, 40, 40) and set(np.unique(labels)) <= {0, 1, 2, 4}


def test_check_reports_every_case(synthetic_dataset, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(synthetic_dataset, data)
    write_case(data, "no_t2", skip=("t2",))
    assert main(["train", str(data), "--check", "--progress-format", "lines"]) == 0
    result = next(e.data for e in _events(capsys.readouterr().out) if e.kind == "result")
    rows = {r["case"]: r for r in result["cases"]}
    assert rows["case01"] == {"case": "case01", "ok": True, "problem": None,
                              "labels": [0, 1, 2, 4], "label_scheme": "brats2018",
                              "scheme_from": "the label values",
                              "sequences": {"flair": "case01_flair.nii.gz",
                                            "t1": "case01_t1.nii.gz",
                                            "t1ce": "case01_t1ce.nii.gz",
                                            "t2": "case01_t2.nii.gz"},
                              "sequences_from": "file names", "grid_change": None,
                              "other_patient_suspected": ""}
    assert rows["case03"]["labels"] == [0, 1, 2, 3]
    assert not rows["no_t2"]["ok"] and "T2" in rows["no_t2"]["problem"]
    assert main(["train", str(data), "--check"]) == 0
    assert "3 of 4 cases usable" in capsys.readouterr().out


def test_check_with_strict_fails_where_a_strict_run_would(synthetic_dataset, tmp_path,
                                                           capsys):
    """``--check --strict`` is a script's pre-flight: a case with a problem fails it (exit 2,
    the line a strict run stops with) after the table; a clean dataset passes."""
    assert main(["train", str(synthetic_dataset), "--check", "--strict"]) == 0
    data = tmp_path / "data"
    shutil.copytree(synthetic_dataset, data)
    write_case(data, "no_t2", skip=("t2",))
    capsys.readouterr()
    assert main(["train", str(data), "--check", "--strict"]) == 2
    captured = capsys.readouterr()
    assert "3 of 4 cases usable" in captured.out
    assert "1 case(s) have problems (--strict): no_t2:" in captured.err
    assert main(["train", str(data), "--check", "--no-strict"]) == 0


def test_strict_stops_before_training(synthetic_dataset, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(synthetic_dataset, data)
    write_case(data, "no_t2", skip=("t2",))
    code = main(["train", str(data), "-o", str(tmp_path / "run"), "--cache",  # as segment's
                 str(tmp_path / "cache"), "--strict", "--progress-format", "lines", *TINY_ARGS])
    assert code == 2
    out = capsys.readouterr().out
    assert any(e.kind == "error" and "no_t2" in e.text for e in _events(out))
    assert not (tmp_path / "run" / "config.json").exists()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_trains(variant, tiny_config, tmp_path):
    config = tiny_config(model={"variant": variant},
                         schedule={"stage_lengths": [0, 0, 1]}).effective()
    torch.manual_seed(0)
    trainer = Trainer(config, make_plan(config, 1), build_model(config.model),
                      [memory_case()], device=torch.device("cpu"),
                      precision=Precision(None, False), checkpoint_dir=tmp_path)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    record = trainer.train_step(0)
    trained = {k for k, v in record.loss.items() if v is not None}
    expected = {f"task{t}" for t in config.tasks()}
    assert trained == expected
    changed = [k for k, v in trainer.model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed


def test_export_last_ignores_validation(synthetic_dataset, tmp_path):
    """With --export last the final network ships, so validation cases never choose it."""
    import contextlib
    import io

    threads = torch.get_num_threads()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["train", str(synthetic_dataset), "--out", str(tmp_path / "run"), "--cache",
                     str(tmp_path / "cache"), "--progress-format", "none", "--export", "last",
                     *TINY_ARGS])
    torch.set_num_threads(threads)
    assert code == 0
    card = load_model(tmp_path / "run" / "model.safetensors").card
    assert card.training["checkpoint_iteration"] == 6
    assert card.metrics["exported"] == "last"


def test_resume_with_more_iterations_extends_the_run(synthetic_dataset, tmp_path):
    """--resume --iterations N re-plans a finished run to N iterations and continues it."""
    import contextlib
    import io

    run = tmp_path / "run"
    common = ["--cache", str(tmp_path / "cache"), "--progress-format", "none"]
    threads = torch.get_num_threads()
    with contextlib.redirect_stdout(io.StringIO()):
        first = main(["train", str(synthetic_dataset), "--out", str(run), *common,
                      "--export", "last", "--iterations", "4", *TINY_ARGS])
        second = main(["train", str(synthetic_dataset), "--out", str(run), *common,
                       "--resume", "--iterations", "7"])
    torch.set_num_threads(threads)
    assert (first, second) == (0, 0)
    card = load_model(run / "model.safetensors").card
    assert card.training["iterations"] == 7
    assert card.training["checkpoint_iteration"] == 7
    with open(run / "metrics.csv", newline="") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == list(range(1, 8))
    saved = json.loads((run / "config.json").read_text())
    assert saved["plan"]["total"] == 7


def test_a_run_folder_that_is_a_file_is_refused_in_one_line(synthetic_dataset, tmp_path,
                                                            capsys):
    taken = tmp_path / "run"
    taken.write_text("notes")
    code = main(train_argv(synthetic_dataset, taken, tmp_path / "cache"))
    err = capsys.readouterr().err
    assert code == 2
    assert [ln for ln in err.splitlines() if ln.startswith("omnet:")] == [
        f"omnet: error: the run folder {taken} is a file, not a folder; choose another --out"]
    assert taken.read_text() == "notes"
    assert not (tmp_path / "cache").exists()


def test_a_folder_with_files_a_run_would_replace_is_refused_in_one_line(synthetic_dataset,
                                                                       tmp_path, capsys):
    """--out on someone's folder holding a metrics.csv and a model of their own: refused
    before any work, and their files are left as they were (the run used to write over them)."""
    folder = tmp_path / "results"
    folder.mkdir()
    mine = {"metrics.csv": "epoch,accuracy\n1,0.5\n", "model.safetensors": "weights",
            "notes.txt": "mine"}
    for name, text in mine.items():
        (folder / name).write_text(text)
    code = main(train_argv(synthetic_dataset, folder, tmp_path / "cache"))
    assert code == 2
    assert _error_lines(capsys.readouterr().err) == [
        f"omnet: error: {folder} holds metrics.csv, model.safetensors but no training run, "
        "and a run would write over them; choose another --out (a new or empty folder)"]
    assert {p.name: p.read_text() for p in folder.iterdir()} == mine
    assert not (tmp_path / "cache").exists()


def test_a_bad_init_from_writes_no_run_folder(synthetic_dataset, tmp_path, capsys):
    """The network is set up before anything is written: a failed start leaves nothing that
    would make the corrected command answer 'already holds a training run'."""
    not_a_model = tmp_path / "notes.json"
    not_a_model.write_text('{"case": "a report, not a model", "volumes_ml": {}}')
    code = main(["train", str(synthetic_dataset), "--out", str(tmp_path / "run"), "--cache",
                 str(tmp_path / "cache"), "--progress-format", "none", "--init-from",
                 str(not_a_model), *TINY_ARGS])
    err = capsys.readouterr().err
    assert code == 2
    assert [ln for ln in err.splitlines() if ln.startswith("omnet:")] == [
        "omnet: error: notes.json is not a safetensors file (bad header length)"]
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()


def _error_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("omnet:")]


@pytest.mark.parametrize("damaged, text", [
    ("config.json", "{"), ("config.json", '["a list"]'), ("split.json", "{"),
    ("split.json", '{"train": 3}')])
def test_a_damaged_run_file_is_one_line_on_resume(synthetic_dataset, tmp_path, capsys,
                                                  damaged, text):
    """A damaged config.json or split.json is named in one line, and left as it was."""
    run = tmp_path / "run"
    run.mkdir()
    config = apply_overrides(preset_config("quick"), {"model": {"width": 4}})
    (run / "config.json").write_text(json.dumps({"config": config.to_dict()}))
    (run / damaged).write_text(text)
    code = main(["train", str(synthetic_dataset), "--out", str(run), "--resume", "--cache",
                 str(tmp_path / "cache"), "--progress-format", "none", "--threads", "1"])
    lines = _error_lines(capsys.readouterr().err)
    assert code == 2
    assert len(lines) == 1 and str(run / damaged) in lines[0], lines
    assert (run / damaged).read_text() == text


def _fail_first_step(self, iteration):
    raise RuntimeError("simulated failure before the first checkpoint")


@pytest.mark.parametrize("existing", [False, True])
def test_a_failure_before_the_first_checkpoint_leaves_no_run(synthetic_dataset, tmp_path,
                                                             monkeypatch, existing):
    """What a failed start wrote is removed (what the folder held before stays), so the same
    command then trains instead of answering 'already holds a training run'."""
    run = tmp_path / "runs" / "run"
    if existing:
        run.mkdir(parents=True)
        (run / "notes.txt").write_text("mine")
    argv = ["train", str(synthetic_dataset), "--out", str(run), "--cache",
            str(tmp_path / "cache"), "--progress-format", "none", "--iterations", "3",
            *TINY_ARGS]
    threads = torch.get_num_threads()
    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "train_step", _fail_first_step)
        with pytest.raises(RuntimeError, match="simulated"):
            main(argv)
    if existing:
        assert [p.name for p in run.iterdir()] == ["notes.txt"]
    else:
        assert not (tmp_path / "runs").exists()
    assert main(argv) == 0
    torch.set_num_threads(threads)
    assert (run / "model.safetensors").is_file()


def test_resume_without_a_readable_checkpoint_is_refused(synthetic_dataset, tmp_path, capsys):
    """Every checkpoint damaged: one line, and the run's logs are not truncated by a silent
    restart from iteration 0."""
    run = tmp_path / "run"
    common = ["--cache", str(tmp_path / "cache"), "--progress-format", "none"]
    threads = torch.get_num_threads()
    assert main(["train", str(synthetic_dataset), "--out", str(run), *common,
                 "--iterations", "6", *TINY_ARGS]) == 0
    for path in ckpt.list_checkpoints(run / "checkpoints"):
        path.write_bytes(b"damaged")
    logs = {name: (run / name).read_text() for name in ("metrics.csv", "validation.csv")}
    capsys.readouterr()
    code = main(["train", str(synthetic_dataset), "--out", str(run), *common, "--resume"])
    torch.set_num_threads(threads)
    lines = _error_lines(capsys.readouterr().err)
    assert code == 2
    assert lines == [f"omnet: error: --resume: no readable checkpoint in {run / 'checkpoints'} "
                     "(2 damaged); restore one, or start a new run with another --out"]
    assert {name: (run / name).read_text() for name in logs} == logs


@pytest.mark.parametrize("export", ["last", "best"])
def test_resume_below_the_iterations_done_is_refused(synthetic_dataset, tmp_path, capsys,
                                                     export):
    """--iterations N below the iterations done is one line, and the run is left as it was
    (it was a traceback after config.json was rewritten, or a card claiming N)."""
    run = tmp_path / "run"
    common = ["--cache", str(tmp_path / "cache"), "--progress-format", "none"]
    threads = torch.get_num_threads()
    assert main(["train", str(synthetic_dataset), "--out", str(run), *common, "--export", export,
                 "--iterations", "6", *TINY_ARGS]) == 0
    before = {p.name: p.read_bytes() for p in (*run.iterdir(), *(run / "checkpoints").iterdir())
              if p.is_file()}
    capsys.readouterr()
    code = main(["train", str(synthetic_dataset), "--out", str(run), *common, "--resume",
                 "--iterations", "4"])
    lines = _error_lines(capsys.readouterr().err)
    assert code == 2
    assert lines == ["omnet: error: --resume: --iterations 4 is fewer than the 6 iterations "
                     "already done; give 6 or more"]
    after = {p.name: p.read_bytes() for p in (*run.iterdir(), *(run / "checkpoints").iterdir())
             if p.is_file()}
    assert after == before
    assert main(["train", str(synthetic_dataset), "--out", str(run), *common, "--resume",
                 "--iterations", "6"]) == 0
    torch.set_num_threads(threads)
    assert load_model(run / "model.safetensors").card.training["iterations"] == 6


def test_a_run_extended_in_stage_3_stays_there(synthetic_dataset, tmp_path):
    """6 iterations done (stage 3 from iteration 3), extended to 30: the metrics show stage 3
    and a learning rate that never rises again (re-planned from scratch, 30 iterations would
    put iteration 7 in stage 2 at 16 times the rate reached)."""
    run = tmp_path / "run"
    common = ["--cache", str(tmp_path / "cache"), "--progress-format", "none",
              "--validate-every", "100"]
    threads = torch.get_num_threads()
    assert main(["train", str(synthetic_dataset), "--out", str(run), *TINY_ARGS, *common,
                 "--iterations", "6"]) == 0
    assert main(["train", str(synthetic_dataset), "--out", str(run), *common, "--resume",
                 "--iterations", "30"]) == 0
    torch.set_num_threads(threads)
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == list(range(1, 31))
    assert {int(r["stage"]) for r in rows[2:]} == {3}
    rates = [float(r["lr"]) for r in rows]
    assert all(b <= a for a, b in zip(rates, rates[1:])), rates
    saved = json.loads((run / "config.json").read_text())["plan"]
    assert saved["total"] == 30 and saved["stage_ends"][:2] == [1, 2]


def test_a_run_without_checkpoints_says_how_to_start_again(synthetic_dataset, tmp_path, capsys):
    """A folder an older version left with config.json but no checkpoint: the refusal says
    that deleting it starts again (--resume is refused if its settings change)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    code = main(train_argv(synthetic_dataset, run, tmp_path / "cache"))
    assert code == 2
    assert _error_lines(capsys.readouterr().err) == [
        f"omnet: error: {run} already holds a training run that wrote no checkpoint; pass "
        "--resume to continue it, or delete it (or choose another --out) to start again"]
    assert not (tmp_path / "cache").exists()


def test_named_validation_cases_the_data_lacks_are_refused_before_preprocessing(
        synthetic_dataset, tmp_path, capsys):
    """A preset names the project's own validation cases; on other data the refusal comes
    from the file names, before the cache is built, and says how to choose others."""
    # TINY_ARGS names case03; the last --val-cases counts
    code = main(train_argv(synthetic_dataset, tmp_path / "run", tmp_path / "cache",
                           "--val-cases", "Brats18_2013_2_1", "case01"))
    assert code == 2
    assert _error_lines(capsys.readouterr().err) == [
        "omnet: error: validation cases not in the dataset: Brats18_2013_2_1; name yours "
        "with --val-cases CASE ..., or give --val-cases alone for a random split"]
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()


def test_a_named_validation_case_the_scan_left_out_is_refused_with_its_reason(tmp_path, capsys):
    """The case is in the folder but unusable (no T2): the refusal gives the scan's reason
    instead of 'not in the dataset', and writes no run."""
    data = tmp_path / "data"
    write_case(data, "case01", seed=1)
    write_case(data, "case02", seed=2, centre=(10, 18, 22))
    write_case(data, "case04", seed=4, skip=("t2",))
    code = main(train_argv(data, tmp_path / "run", tmp_path / "cache", "--val-cases", "case04"))
    lines = _error_lines(capsys.readouterr().err)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(
        "omnet: error: validation cases left out of the dataset: case04 ("), lines
    assert "T2" in lines[0] and lines[0].endswith(
        "; fix them, or name others with --val-cases CASE ...")
    assert not (tmp_path / "run").exists()

