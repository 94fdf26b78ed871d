"""``omnet segment`` on the command line: error paths, machine-readable lines, batch mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import SimpleITK as sitk

from omnet.cli import main
from omnet.protocol import parse_line


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["segment", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("omnet:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("argv, words", [
    ((), "give one of: CASE"),
    (("nowhere/case",), "input not found"),
    (("--input-dir", "x"), "--input-dir needs --output-dir"),
    (("--flair", "a.nii.gz", "--t1", "b.nii.gz"), "missing --t1ce, --t2"),
    (("--input-dir", "x", "--t1", "b.nii.gz"), "got --flair/--t1/--t1ce/--t2 and --input-dir"),
    (("case", "--t1", "b.nii.gz"), "--t1 file not found: b.nii.gz"),
    (("case", "--overwrite"), "--overwrite is for batch mode (--input-dir)"),
    (("--input-dir", "x", "--output-dir", "y", "--brain-mask", "m.nii.gz"),
     "--brain-mask m.nii.gz: in batch mode it names a folder"),
])
def test_usage_errors_exit_2_with_one_line(capsys, tmp_path, argv, words):
    code, _out, err = _run(capsys, *argv, "--progress-format", "none")
    assert code == 2
    assert words in _one_error_line(err)


@pytest.mark.parametrize("form, extra", [
    ("case", ["--tta"]),
    ("case", ["--tta", "x"]),
    ("case", ["--uncertainty", "{tmp}/u.nii.gz"]),
    ("batch", ["--tta"]),
])
def test_attention_with_test_time_augmentation_is_refused_up_front(
        capsys, phantom_case, tiny_model_file, tmp_path, form, extra):
    """The maps come from the one unmirrored pass: refused, not silently left unwritten."""
    case = phantom_case(shape=(16, 24, 24), name="p4", root=tmp_path / "cases")
    inputs = ([case, "-o", tmp_path / "o.nii.gz"] if form == "case" else
              ["--input-dir", tmp_path / "cases", "--output-dir", tmp_path / "out"])
    before = sorted(tmp_path.rglob("*"))
    code, _out, err = _run(capsys, *inputs, "--attention", tmp_path / "att",
                           *[a.format(tmp=tmp_path) for a in extra], "--model",
                           tiny_model_file, "--device", "cpu", "--progress-format", "none")
    assert code == 2
    assert "not made with test-time augmentation" in _one_error_line(err)
    assert sorted(tmp_path.rglob("*")) == before


def test_the_api_refuses_attention_with_test_time_augmentation(phantom_case, tmp_path):
    from omnet.errors import InputError
    from omnet.inference.pipeline import segment

    case = phantom_case(shape=(16, 24, 24), name="p4")
    with pytest.raises(InputError, match="not made with test-time augmentation"):
        segment(case, None, attention_dir=tmp_path / "att", tta="x", device="cpu")
    assert not (tmp_path / "att").exists()


def test_missing_bundled_model_says_so(capsys, phantom_case, tmp_path, monkeypatch):
    monkeypatch.setenv("OMNET_MODELS_DIR", str(tmp_path / "none"))
    code, out, err = _run(capsys, phantom_case(shape=(16, 24, 24)), "-o", tmp_path / "o.nii.gz",
                          "--device", "cpu", "--progress-format", "lines")
    assert code == 2
    assert "no bundled model" in _one_error_line(err)
    events = [parse_line(ln) for ln in out.splitlines()]
    assert [e.kind for e in events] == ["error"] and "no bundled model" in events[0].text
    assert not (tmp_path / "o.nii.gz").exists()


def test_a_file_that_is_not_a_model(capsys, phantom_case, tmp_path):
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"PK\x03\x04 a zip pickle")
    code, _out, err = _run(capsys, phantom_case(shape=(16, 24, 24)), "--model", fake,
                          "--device", "cpu", "--progress-format", "none")
    assert code == 2 and "pickle" in _one_error_line(err)


def test_progress_lines_and_result(capsys, phantom_case, tiny_model_file, tmp_path):
    out_path = tmp_path / "seg.nii.gz"
    code, out, err = _run(capsys, phantom_case(shape=(16, 24, 24)), "-o", out_path, "--model",
                          tiny_model_file, "--device", "cpu", "--progress-format", "lines",
                          "--report", tmp_path / "r.json", "--labels", "brats2023")
    assert code == 0, err
    events = [parse_line(ln) for ln in out.splitlines()]
    progress = [e for e in events if e.kind == "progress"]
    assert progress and all(a.fraction <= b.fraction for a, b in zip(progress, progress[1:]))
    assert {"reading", "network", "fusion", "writing"} <= {e.stage for e in progress}
    assert events[-1].kind == "result"
    result = events[-1].data
    assert result["output"] == str(out_path) and out_path.is_file()
    assert set(result["volumes_ml"]) == {"necrotic", "edema", "enhancing", "whole", "core",
                                         "enhancing_tumour"}
    assert result["model"]["name"] == "tiny-test" and len(result["model"]["sha256"]) == 64
    assert result["device"] == "cpu" and result["report"] == str(tmp_path / "r.json")
    assert (tmp_path / "r.json").is_file()


def test_explicit_files_and_default_output_name(capsys, phantom_case, tiny_model_file,
                                                tmp_path, monkeypatch):
    folder = phantom_case(shape=(16, 24, 24), name="p7")
    monkeypatch.chdir(tmp_path)
    files = []
    for role in ("flair", "t1", "t1ce", "t2"):
        files += [f"--{role}", folder / f"p7_{role}.nii.gz"]
    code, out, err = _run(capsys, *files, "--model", tiny_model_file, "--device", "cpu",
                          "--progress-format", "none")
    assert code == 0, err
    assert (tmp_path / "p7_t1ce_omnet.nii.gz").is_file()
    assert "wrote p7_t1ce_omnet.nii.gz" in out


def test_a_case_folder_segmented_in_place_can_be_segmented_again(
        capsys, phantom_case, tiny_model_file, tmp_path, monkeypatch):
    folder = phantom_case(shape=(16, 24, 24), name="p7")
    monkeypatch.chdir(folder)
    files = [arg for role in ("flair", "t1", "t1ce", "t2") for arg in
             (f"--{role}", f"p7_{role}.nii.gz")]
    options = ["--model", tiny_model_file, "--device", "cpu", "--progress-format", "none"]
    first = _run(capsys, *files, *options)
    assert first[0] == 0 and (folder / "p7_t1ce_omnet.nii.gz").is_file(), first[2]
    code, _out, err = _run(capsys, folder, "-o", tmp_path / "again.nii.gz", *options)
    assert code == 0, err
    assert (tmp_path / "again.nii.gz").is_file()


def test_two_label_maps_in_a_case_folder_do_not_stop_segmenting(capsys, phantom_case,
                                                                 tiny_model_file, tmp_path):
    folder = phantom_case(shape=(16, 24, 24), name="p6")
    for name in ("p6_seg.nii.gz", "p6_seg_manual.nii.gz"):
        (folder / name).write_bytes(b"")  # never read: segmenting needs no label map
    code, _out, err = _run(capsys, folder, "-o", tmp_path / "p6.nii.gz", "--model",
                           tiny_model_file, "--device", "cpu", "--progress-format", "none")
    assert code == 0, err
    assert (tmp_path / "p6.nii.gz").is_file()


def test_the_current_folder_as_case_names_the_output_after_it(capsys, phantom_case,
                                                              tiny_model_file, monkeypatch):
    folder = phantom_case(shape=(16, 24, 24), name="p5")
    monkeypatch.chdir(folder)
    code, out, err = _run(capsys, ".", "--model", tiny_model_file, "--device", "cpu",
                          "--progress-format", "none")
    assert code == 0, err
    assert (folder / "p5_omnet.nii.gz").is_file() and "wrote p5_omnet.nii.gz" in out


@pytest.mark.parametrize("output, written", [
    ("results", "results/p8_omnet.nii.gz"),
    ("existing", "existing/p8_omnet.nii.gz"),
    ("nested/out.nrrd", "nested/out.nrrd"),
    ("OUT.NII.GZ", "OUT.NII.GZ"),  # SimpleITK writes only lower-case endings itself
])
def test_output_names_a_file_or_a_folder(capsys, phantom_case, tiny_model_file, tmp_path,
                                         output, written):
    folder = phantom_case(shape=(16, 24, 24), name="p8")
    (tmp_path / "existing").mkdir()
    code, out, err = _run(capsys, folder, "-o", tmp_path / output, "--model", tiny_model_file,
                          "--device", "cpu", "--progress-format", "none")
    assert code == 0, err
    assert sitk.ReadImage(str(tmp_path / written)).GetSize() == (24, 24, 16)
    assert f"wrote {tmp_path / written}" in out


@pytest.mark.parametrize("extra, words", [
    (("-o", "{tmp}/out.png"), "the label map {tmp}/out.png has no image ending"),
    (("-o", "{tmp}/out.nii.gz", "--uncertainty", "{tmp}"), "the uncertainty map {tmp} is a folder"),
    (("-o", "{tmp}/out.nii.gz", "--brain-mask", "{tmp}/mask.txt"), "the brain mask"),
    (("-o", "{tmp}/out.nii.gz", "--report", "{tmp}"), "the report {tmp} is a folder"),
    # a name ending in / is a folder, as for -o: it wrote a report file named "reports"
    (("-o", "{tmp}/out.nii.gz", "--report", "{tmp}/reports/"),
     "the report {tmp}/reports/ names a folder; give a file name such as "
     "{tmp}/reports/result.json"),
    (("-o", "{tmp}/out.nii.gz", "--probabilities", "{tmp}/p9/p9_t1.nii.gz"),
     "the probabilities folder {tmp}/p9/p9_t1.nii.gz is a file"),
    (("-o", "{tmp}/p9/p9_t1.nii.gz/out.nii.gz",),
     "the label map {tmp}/p9/p9_t1.nii.gz/out.nii.gz cannot be written: "
     "{tmp}/p9/p9_t1.nii.gz is a file, not a folder"),
    (("-o", "{tmp}/out.nii.gz", "--report", "{tmp}/p9/p9_t1.nii.gz/deeper/r.json"),
     "the report {tmp}/p9/p9_t1.nii.gz/deeper/r.json cannot be written"),
    (("-o", "{tmp}/out.nii.gz", "--probabilities", "{tmp}/out.nii.gz"),
     "the label map and the probabilities folder are both {tmp}/out.nii.gz"),
    # labels.mhd writes labels.zraw beside it: the report and the voxels took turns there
    (("-o", "{tmp}/labels.mhd", "--report", "{tmp}/labels.zraw"),
     "the label map's data file and the report are both {tmp}/labels.zraw"),
])
def test_an_output_that_cannot_be_an_image_is_refused_before_any_work(
        capsys, phantom_case, tiny_model_file, tmp_path, extra, words):
    folder = phantom_case(shape=(16, 24, 24), name="p9")
    argv = [a.format(tmp=tmp_path) for a in extra]
    before = sorted(tmp_path.rglob("*"))
    code, _out, err = _run(capsys, folder, *argv, "--model", tiny_model_file, "--device", "cpu",
                           "--progress-format", "none")
    assert code == 2
    assert words.format(tmp=tmp_path) in _one_error_line(err)
    assert sorted(tmp_path.rglob("*")) == before


def test_a_bad_destination_is_the_only_thing_printed(capsys, phantom_case, tiny_model_file,
                                                     tmp_path):
    folder = phantom_case(shape=(16, 24, 24), name="p10")
    code, out, err = _run(capsys, folder, "-o", tmp_path / "x.png", "--model", tiny_model_file,
                          "--progress-format", "bar")
    assert code == 2 and out == ""
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        f"omnet: error: the label map {tmp_path / 'x.png'} has no image ending; use one of "
        ".nii.gz, .nii, .nrrd, .nhdr, .mha, .mhd"]


def _model_loading_fails(monkeypatch) -> None:
    def load_model(*_args, **_kwargs):
        raise AssertionError("the model was loaded before the destinations were checked")

    monkeypatch.setattr("omnet.model.weights.load_model", load_model)


@pytest.mark.parametrize("extra, words", [
    (("--output-dir", "{tmp}/taken"), "the output folder {tmp}/taken is a file"),
    (("--output-dir", "{tmp}/out", "--report", "{tmp}"), "the report {tmp} is a folder"),
    (("--output-dir", "{tmp}/out", "--report", "{tmp}/out/"), "the report {tmp}/out/ names a"),
    (("--output-dir", "{tmp}/out", "--attention", "{tmp}/taken"), "{tmp}/taken is a file"),
])
def test_a_batch_destination_that_cannot_be_written_is_refused_before_any_case(
        capsys, phantom_case, tiny_model_file, tmp_path, monkeypatch, extra, words):
    """... and before the model loads (a bundled ensemble takes seconds to load)."""
    _model_loading_fails(monkeypatch)
    phantom_case(shape=(16, 24, 24), name="b1", root=tmp_path / "cases")
    (tmp_path / "taken").write_text("")
    before = sorted(tmp_path.rglob("*"))
    argv = [a.format(tmp=tmp_path) for a in extra]
    code, _out, err = _run(capsys, "--input-dir", tmp_path / "cases", *argv, "--model",
                           tiny_model_file, "--device", "cpu", "--progress-format", "none")
    assert code == 2
    assert words.format(tmp=tmp_path) in _one_error_line(err)
    assert sorted(tmp_path.rglob("*")) == before


def test_batch_skips_done_cases_and_reports_failures(capsys, phantom_case, tiny_model_file,
                                                     tmp_path):
    cases = tmp_path / "cases"
    for name in ("a", "b", "c"):
        phantom_case(shape=(16, 24, 24), name=name, root=cases)
    next((cases / "b").glob("*_t2.nii.gz")).unlink()  # b fails
    results = tmp_path / "results"
    results.mkdir()
    (results / "c.nii.gz").write_bytes(b"done before")  # c is skipped
    code, out, err = _run(capsys, "--input-dir", cases, "--output-dir", results, "--model",
                          tiny_model_file, "--device", "cpu", "--progress-format", "lines",
                          "--report", tmp_path / "batch.json")
    assert code == 1
    assert sitk.ReadImage(str(results / "a.nii.gz")).GetSize() == (24, 24, 16)
    assert not (results / "b.nii.gz").exists()
    assert (results / "c.nii.gz").read_bytes() == b"done before"
    assert "1 segmented, 1 skipped (output exists), 1 failed" in out
    assert "b failed: no T2 found among" in err
    result = next(parse_line(ln) for ln in out.splitlines() if ln.startswith("RESULT")).data
    assert [c["status"] for c in result["cases"]] == ["segmented", "failed", "skipped"]
    assert [c["output"] for c in result["cases"]] == [  # the failed case names no file
        str(results / "a.nii.gz"), None, str(results / "c.nii.gz")]
    batch = json.loads((tmp_path / "batch.json").read_text())
    # the README named every field of the batch's record but the one that holds the cases
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    record = readme.split("`--report FILE` in batch mode", 1)[1].split("A stop (Ctrl-C", 1)[0]
    fields = [*batch, *batch["cases"][0]]
    assert [key for key in fields if f"`{key}`" not in record] == []


def test_a_batch_with_two_cases_of_one_name_is_refused_before_any(capsys, phantom_case,
                                                                  tiny_model_file, tmp_path):
    import shutil

    cases = tmp_path / "cases"
    phantom_case(shape=(16, 24, 24), name="X", root=cases)
    other = phantom_case(shape=(16, 24, 24), name="X", root=tmp_path / "elsewhere")
    shutil.make_archive(str(cases / "X"), "zip", other)
    before = sorted(tmp_path.rglob("*"))
    code, _out, err = _run(capsys, "--input-dir", cases, "--output-dir", tmp_path / "pred",
                           "--model", tiny_model_file, "--device", "cpu",
                           "--progress-format", "none")
    assert code == 2
    assert "X/ and X.zip are both case X" in _one_error_line(err)
    assert sorted(tmp_path.rglob("*")) == before


def test_a_batch_written_inside_its_input_folder_runs_again(capsys, phantom_case,
                                                            tiny_model_file, tmp_path):
    cases = tmp_path / "cases"
    phantom_case(shape=(16, 24, 24), name="a", root=cases)
    argv = ["--input-dir", cases, "--output-dir", cases / "out", "--attention", cases / "att",
            "--model", tiny_model_file, "--device", "cpu", "--progress-format", "none"]
    first = _run(capsys, *argv)
    again = _run(capsys, *argv)
    assert (first[0], again[0]) == (0, 0), again[2]
    assert "1 segmented, 0 skipped (output exists), 0 failed" in first[1]
    assert "0 segmented, 1 skipped (output exists), 0 failed" in again[1]


def test_a_batch_written_into_its_input_folder_runs_again_with_a_case_added(
        capsys, phantom_case, tiny_model_file, tmp_path):
    """``--output-dir`` = ``--input-dir``: ``cases/a.nii.gz`` beside ``cases/a/`` is the label
    map omnet segment wrote (its header says so), so the next run skips case a and segments
    the new case b (it was refused: "a/ and a.nii.gz are both case a")."""
    cases = tmp_path / "cases"
    phantom_case(shape=(16, 24, 24), name="a", root=cases)
    argv = ["--input-dir", cases, "--output-dir", cases, "--model", tiny_model_file,
            "--device", "cpu", "--progress-format", "none"]
    first = _run(capsys, *argv)
    phantom_case(shape=(16, 24, 24), name="b", root=cases)
    again = _run(capsys, *argv)
    assert (first[0], again[0]) == (0, 0), again[2]
    assert "1 segmented, 1 skipped (output exists), 0 failed" in again[1]
    assert sorted(p.name for p in cases.iterdir()) == ["a", "a.nii.gz", "b", "b.nii.gz"]


def test_a_case_folder_given_as_the_output_folder_is_refused_with_nothing_written(
        capsys, phantom_case, tiny_model_file, tmp_path, monkeypatch):
    """``--output-dir cases/a``: case a was left out without a word and b's label map was
    written among a's scans. Refused before the model loads."""
    _model_loading_fails(monkeypatch)
    cases = tmp_path / "cases"
    for name in ("a", "b"):
        phantom_case(shape=(16, 24, 24), name=name, root=cases)
    before = sorted(tmp_path.rglob("*"))
    code, _out, err = _run(capsys, "--input-dir", cases, "--output-dir", cases / "a",
                           "--model", tiny_model_file, "--device", "cpu",
                           "--progress-format", "none")
    assert code == 2
    assert _one_error_line(err) == (
        f"omnet: error: the output folder {cases / 'a'} is the folder of case a (it holds "
        "a_flair.nii.gz): the batch would leave that case out and write among its files; "
        f"give the outputs a folder of their own, such as {cases / 'omnet'}")
    assert sorted(tmp_path.rglob("*")) == before


def test_a_case_folder_given_as_the_batch_folder_is_one_case(capsys, phantom_case,
                                                              tiny_model_file, tmp_path):
    case = Path(phantom_case(shape=(16, 24, 24), name="p9", root=tmp_path / "cases"))
    results = tmp_path / "results"
    code, out, err = _run(capsys, "--input-dir", case, "--output-dir", results, "--model",
                          tiny_model_file, "--device", "cpu", "--progress-format", "none")
    assert code == 0, err
    assert [p.name for p in results.iterdir()] == ["p9.nii.gz"]
    assert "1 segmented, 0 skipped (output exists), 0 failed" in out


def test_a_case_folder_missing_a_sequence_fails_once_and_says_which(capsys, phantom_case,
                                                                    tiny_model_file, tmp_path):
    case = Path(phantom_case(shape=(16, 24, 24), name="p9", root=tmp_path / "cases"))
    next(case.glob("*_t1ce.nii.gz")).unlink()
    results = tmp_path / "results"
    code, out, err = _run(capsys, "--input-dir", case, "--output-dir", results, "--model",
                          tiny_model_file, "--device", "cpu", "--progress-format", "none")
    assert code == 1
    assert "0 segmented, 0 skipped (output exists), 1 failed" in out
    assert "p9 failed: no T1c" in _one_error_line(err)
    assert not results.exists() or not any(results.iterdir())


def test_a_batch_folder_given_as_one_case_says_to_use_input_dir(capsys, phantom_case,
                                                                 tmp_path):
    for name in ("a", "b"):
        phantom_case(shape=(16, 24, 24), name=name, root=tmp_path / "cases")
    code, _out, err = _run(capsys, tmp_path / "cases", "--progress-format", "none")
    assert code == 2
    line = _one_error_line(err)
    assert "cases holds 2 case folders" in line
    assert f"--input-dir {tmp_path / 'cases'} --output-dir OUT" in line


def test_sigterm_stops_the_run_and_leaves_no_partial_file(phantom_case, tiny_model_file,
                                                          tmp_path):
    folder = phantom_case(shape=(48, 96, 96), spacing=(2.0, 2.0, 2.0))  # a child: head-sized
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "omnet", "segment", str(folder), "-o",
               str(out / "seg.nii.gz"), "--model", str(tiny_model_file), "--mode", "exact",
               "--device", "cpu", "--progress-format", "lines", "--report", str(out / "r.json")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    for line in process.stdout:
        if line.startswith("PROGRESS") and "network" in line:
            process.send_signal(signal.SIGTERM)
            break
    remaining, err = process.communicate(timeout=60)
    assert process.returncode == 143, err  # 128 + SIGTERM, as a shell reports it
    assert "RESULT" not in remaining
    assert not out.exists() or not [p for p in Path(out).rglob("*") if p.is_file()]


def test_a_given_sequence_replaces_the_case_folders(capsys, phantom_case, tmp_path):
    flat = tmp_path / "flat_t1c.nii.gz"
    sitk.WriteImage(sitk.Image(24, 24, sitk.sitkInt16), str(flat))   # 2D: refused by name
    code, _out, err = _run(capsys, phantom_case(shape=(16, 24, 24)), "--t1ce", flat,
                           "-o", tmp_path / "o.nii.gz", "--progress-format", "none")
    assert code == 2 and "flat_t1c.nii.gz: is a 2D image" in _one_error_line(err)
    assert not (tmp_path / "o.nii.gz").exists()


def test_a_folder_that_takes_no_new_files_is_refused_before_any_work(
        capsys, phantom_case, tiny_model_file, tmp_path, monkeypatch):
    import omnet.inference.outputs as outputs

    def refuse(*args, **kwargs):  # what a read-only mount answers (root ignores chmod here)
        raise OSError(30, "Read-only file system")

    folder = phantom_case(shape=(16, 24, 24), name="p11")
    monkeypatch.setattr(outputs.tempfile, "TemporaryFile", refuse)
    code, _out, err = _run(capsys, folder, "-o", tmp_path / "ro" / "x.nii.gz", "--model",
                           tiny_model_file, "--device", "cpu", "--progress-format", "none")
    assert code == 2
    assert _one_error_line(err).endswith(
        f"cannot be written: {tmp_path} takes no new files (read-only file system)")
    assert not (tmp_path / "ro").exists()


def test_a_broken_label_map_beside_the_sequences_does_not_stop_segmenting(
        capsys, phantom_case, tiny_model_file, tmp_path):
    folder = phantom_case(shape=(16, 24, 24), name="p12")
    (folder / "p12_seg.nii.gz").write_bytes(b"an interrupted copy")  # segment needs no labels
    code, _out, err = _run(capsys, folder, "-o", tmp_path / "p12.nii.gz", "--model",
                           tiny_model_file, "--device", "cpu", "--progress-format", "none")
    assert code == 0, err
    assert (tmp_path / "p12.nii.gz").is_file()


def test_a_missing_input_file_is_named_before_the_model_is_looked_at(capsys, phantom_case,
                                                                     tmp_path):
    folder = phantom_case(shape=(16, 24, 24), name="p13")
    files = [a for role in ("flair", "t1", "t1ce") for a in (f"--{role}",
                                                             folder / f"p13_{role}.nii.gz")]
    code, _out, err = _run(capsys, *files, "--t2", tmp_path / "gone_t2.nii.gz", "-o",
                           tmp_path / "p13.nii.gz", "--model", tmp_path / "no-model.safetensors")
    assert code == 2
    missing = tmp_path / "gone_t2.nii.gz"
    assert _one_error_line(err) == f"omnet: error: --t2 file not found: {missing}"


def test_a_stopped_batch_still_writes_its_report_and_summary(capsys, phantom_case,
                                                             tiny_model_file, tmp_path,
                                                             monkeypatch):
    """Ctrl-C during the second of three cases: exit 130, the first case's output and the
    report of all three (the second and third "not run") are there."""
    import json

    from omnet.errors import Cancelled

    cases = tmp_path / "cases"
    for name in ("a", "b", "c"):
        phantom_case(shape=(16, 24, 24), name=name, root=cases)

    def segment(source, output, **options):
        if Path(source).name == "b":
            raise Cancelled("stopped by request")
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_bytes(b"label map")
        return type("Result", (), {"report": {"case": Path(source).name}})()

    monkeypatch.setattr("omnet.inference.pipeline.segment", segment)
    code, out, err = _run(capsys, "--input-dir", cases, "--output-dir", tmp_path / "out",
                          "--report", tmp_path / "batch.json", "--model", tiny_model_file,
                          "--device", "cpu", "--progress-format", "none")
    assert code == 130
    assert "1 segmented, 0 skipped (output exists), 0 failed, 2 not run (stopped)" in out
    assert "omnet: cancelled: stopped by request" in err
    report = json.loads((tmp_path / "batch.json").read_text())
    assert [(c["case"], c["status"]) for c in report["cases"]] == [
        ("a", "segmented"), ("b", "not run"), ("c", "not run")]
    assert report["stopped"] is True
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.nii.gz"]


def test_overwrite_segments_again_the_cases_whose_output_exists(capsys, phantom_case,
                                                                tiny_model_file, tmp_path):
    cases = tmp_path / "cases"
    phantom_case(shape=(16, 24, 24), name="a", root=cases)
    results = tmp_path / "results"
    results.mkdir()
    (results / "a.nii.gz").write_bytes(b"done before")
    code, out, err = _run(capsys, "--input-dir", cases, "--output-dir", results, "--overwrite",
                          "--model", tiny_model_file, "--device", "cpu",
                          "--progress-format", "none")
    assert code == 0, err
    assert "1 segmented, 0 skipped (output exists), 0 failed" in out
    assert sitk.ReadImage(str(results / "a.nii.gz")).GetSize() == (24, 24, 16)


def test_batch_brain_masks_go_to_one_file_per_case_in_their_folder(capsys, phantom_case,
                                                                    tiny_model_file, tmp_path):
    """``--brain-mask DIR`` in batch mode: ``DIR/<case>_brain_mask.nii.gz`` on each case's
    grid (it was silently ignored); a masks folder inside the input folder is not a case."""
    cases = tmp_path / "cases"
    for name in ("a", "b"):
        phantom_case(shape=(16, 24, 24), name=name, root=cases)
    code, out, err = _run(capsys, "--input-dir", cases, "--output-dir", tmp_path / "out",
                          "--brain-mask", cases / "masks", "--model", tiny_model_file,
                          "--device", "cpu", "--progress-format", "none")
    assert code == 0, err
    assert "2 segmented, 0 skipped (output exists), 0 failed" in out
    assert sorted(p.name for p in (cases / "masks").iterdir()) == ["a_brain_mask.nii.gz",
                                                                   "b_brain_mask.nii.gz"]
    mask = sitk.ReadImage(str(cases / "masks" / "a_brain_mask.nii.gz"))
    assert mask.GetSize() == (24, 24, 16)
    assert set(sitk.GetArrayFromImage(mask).ravel().tolist()) <= {0, 1}


@pytest.mark.parametrize("field, value", [("voxel_spacing", "1mm"), ("width", 2.0)])
def test_a_model_card_of_the_wrong_type_is_one_line(capsys, phantom_case, tiny_model_file,
                                                    tmp_path, field, value):
    """A card field of the wrong type was a TypeError traceback from deep inside torch."""
    import json

    from safetensors.torch import load_file, save_file

    from omnet.card import read_card

    card = read_card(tiny_model_file).to_dict()
    (card["model"] if field == "width" else card)[field] = value
    bad = tmp_path / "bad.safetensors"
    save_file(load_file(str(tiny_model_file)), str(bad), metadata={"omnet_card": json.dumps(card)})
    out_path = tmp_path / "o.nii.gz"
    code, _out, err = _run(capsys, phantom_case(shape=(16, 24, 24)), "-o", out_path, "--model",
                           bad, "--device", "cpu", "--progress-format", "none")
    assert code == 2 and field in _one_error_line(err) and "Traceback" not in err
    assert not out_path.exists()


def test_help_names_every_form_of_case(capsys):
    # README "Segmenting your own case": a case folder (or DICOM study), a zipped case folder
    # and one 4D file are all given as CASE; the help named only the first and the last.
    with pytest.raises(SystemExit):
        main(["segment", "--help"])
    usage = " ".join(capsys.readouterr().out.split())
    assert "DICOM study" in usage and ".zip" in usage and "4D file" in usage
