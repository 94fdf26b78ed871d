"""``omnet demo`` end to end: segmentation contract, evaluation, overlay, report, errors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.cli import main
from omnet.demo.generator import DemoSettings
from omnet.demo.run import run_demo

SIZE = ["96", "96", "62"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def shifting_segmenter(shift: int):
    """Stands in for omnet.segment: writes the true labels moved ``shift`` voxels along x."""
    calls = []

    def segment(inputs, output, *, model, device, mode, labels, progress):
        calls.append({"inputs": inputs, "model": model, "labels": labels})
        truth = sitk.ReadImage(str(Path(inputs["flair"]).with_name("demo_seg.nii.gz")))
        moved = sitk.GetImageFromArray(np.roll(sitk.GetArrayFromImage(truth), shift, axis=2))
        moved.CopyInformation(truth)
        sitk.WriteImage(moved, str(output))
        progress(1.0, "network")
        return SimpleNamespace(labels=moved, report={"model": {"name": "stand-in"}})

    segment.calls = calls
    return segment


def sitk_dice(pred_path: Path, ref_path: Path, values: tuple[int, ...]) -> float:
    """Dice of a region by SimpleITK, independent of omnet.evaluation."""
    masks = []
    for path in (pred_path, ref_path):
        array = np.isin(sitk.GetArrayFromImage(sitk.ReadImage(str(path))), values)
        masks.append(sitk.GetImageFromArray(array.astype(np.uint8)))
    measures = sitk.LabelOverlapMeasuresImageFilter()
    measures.Execute(masks[0], masks[1])
    return measures.GetDiceCoefficient()


def test_demo_segments_evaluates_draws_and_reports(tmp_path):
    segmenter = shifting_segmenter(2)
    result = run_demo(tmp_path, DemoSettings(size=(96, 96, 62), seed=5), model="m.safetensors",
                      segmenter=segmenter, progress=lambda f, s: None)
    call = segmenter.calls[0]
    assert sorted(call["inputs"]) == ["flair", "t1", "t1ce", "t2"]
    assert (call["model"], call["labels"]) == ("m.safetensors", "brats2018")
    assert result.segmented and result.prediction == tmp_path / "demo_prediction.nii.gz"
    seg = tmp_path / "demo" / "demo_seg.nii.gz"
    report = json.loads((tmp_path / "demo_report.json").read_text(encoding="utf-8"))
    for name, values in (("whole", (1, 2, 4)), ("core", (1, 4)), ("enhancing", (4,))):
        expected = sitk_dice(result.prediction, seg, values)
        assert 0.0 < expected < 1.0
        assert report["metrics"][name]["dice"] == pytest.approx(expected)
    assert report["segmented"] is True and report["problem"] is None
    assert report["generator"]["seed"] == 5
    assert report["case"]["t1ce"] == "demo/demo_t1ce.nii.gz"
    assert report["segmentation"] == {"model": {"name": "stand-in"}}
    overlay = (tmp_path / "demo_overlay.png").read_bytes()
    assert overlay.startswith(PNG_MAGIC)


def test_demo_without_a_model_writes_the_case_and_says_why(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("OMNET_MODELS_DIR", str(empty))
    out = tmp_path / "out"
    status = main(["demo", "-o", str(out), "--size", *SIZE, "--progress-format", "none"])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--model" in err[0] and "no bundled model" in err[0]
    assert (out / "demo" / "demo_flair.nii.gz").is_file()
    assert (out / "demo_overlay.png").read_bytes().startswith(PNG_MAGIC)
    report = json.loads((out / "demo_report.json").read_text(encoding="utf-8"))
    assert report["segmented"] is False and "no bundled model" in report["problem"]
    assert not (out / "demo_prediction.nii.gz").exists()


def test_demo_no_segment_is_a_success(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path), "--size", *SIZE, "--no-segment",
                 "--progress-format", "none"]) == 0
    assert "demo_seg.nii.gz" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--size", "8", "96", "62"],
                                  ["--size", *SIZE, "--model", "missing.safetensors"]])
def test_demo_errors_are_one_line(tmp_path, capsys, argv):
    assert main(["demo", "-o", str(tmp_path), "--progress-format", "none", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("omnet: error: ")


def test_demo_through_omnet_segment_with_a_tiny_model(tmp_path, capsys, any_tumour_share):
    """The real inference pipeline on a small case with a randomly initialised network."""
    import torch

    from omnet.card import ModelCard
    from omnet.model import build_model
    from omnet.model.weights import save_model

    torch.manual_seed(0)
    network = build_model("omnet-cga", width=8)
    model_path = tmp_path / "tiny.safetensors"
    save_model(network, ModelCard(name="tiny-random", model=network.config), model_path)
    out = tmp_path / "out"
    assert main(["demo", "-o", str(out), "--size", "64", "64", "40", "--model",
                 str(model_path), "--device", "cpu", "--progress-format", "none"]) == 0
    assert "whole" in capsys.readouterr().out
    report = json.loads((out / "demo_report.json").read_text(encoding="utf-8"))
    assert report["segmentation"]["model"]["name"] == "tiny-random"
    prediction = sitk.ReadImage(str(out / "demo_prediction.nii.gz"))
    truth = sitk.ReadImage(str(out / "demo" / "demo_seg.nii.gz"))
    assert prediction.GetSize() == truth.GetSize()
    assert prediction.GetSpacing() == pytest.approx(truth.GetSpacing())
    assert report["metrics"]["whole"]["dice"] == pytest.approx(
        sitk_dice(out / "demo_prediction.nii.gz", out / "demo" / "demo_seg.nii.gz", (1, 2, 4)))


def test_demo_output_under_a_file_is_one_line_error(tmp_path, capsys):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main(["demo", "-o", str(tmp_path / "file" / "out"), "--size", *SIZE]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"omnet: error: cannot create the output folder {tmp_path / 'file' / 'out'}: "
                   "Not a directory"]
