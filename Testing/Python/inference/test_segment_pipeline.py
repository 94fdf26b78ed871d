"""omnet.segment end to end on small synthetic cases: geometry, outputs, report, models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from conftest import rotation

from omnet import segment
from omnet.errors import ModelFileError, OMNetError
from omnet.inference.attention import ATTENTION_FILES
from omnet.inference.device import select_device
from omnet.inference.sources import case_input
from omnet.model import build_model
from omnet.model.context import CoarseWindow

OBLIQUE = rotation(15, -10)


def _geometry(image: sitk.Image):
    return (image.GetSize(), image.GetSpacing(), image.GetOrigin(), image.GetDirection())


def _same_geometry_on_disk(a: sitk.Image, b: sitk.Image) -> bool:
    """Equal up to NIfTI's float32 quaternion encoding of an oblique direction."""
    return (a.GetSize() == b.GetSize()
            and np.allclose(a.GetSpacing(), b.GetSpacing(), rtol=0, atol=1e-6)
            and np.allclose(a.GetOrigin(), b.GetOrigin(), rtol=0, atol=1e-5)
            and np.allclose(a.GetDirection(), b.GetDirection(), rtol=0, atol=1e-6))


def test_output_has_the_t1c_geometry_whatever_the_other_grids(phantom_case, tiny_model,
                                                              tmp_path):
    folder = phantom_case(shape=(24, 40, 36), spacing=(1.1, 0.9, 2.0), direction=OBLIQUE,
                          origin=(5.0, -3.0, 8.0))
    t1c_path = next(folder.glob("*_t1ce.nii.gz"))
    t1c = sitk.ReadImage(str(t1c_path))
    t2 = sitk.ReadImage(str(next(folder.glob("*_t2.nii.gz"))))
    # the T2 on another (cropped, isotropic, axis-aligned) grid covering the same anatomy
    t2_other = sitk.Resample(t2, [30, 34, 40], sitk.Transform(), sitk.sitkLinear,
                             t2.TransformIndexToPhysicalPoint((2, 2, 2)), (1.0, 1.0, 1.0))
    inputs = {"flair": next(folder.glob("*_flair.nii.gz")), "t1": next(folder.glob("*_t1.nii.gz")),
              "t1ce": t1c_path, "t2": t2_other}
    out = tmp_path / "labels.nii.gz"
    result = segment(inputs, out, model=tiny_model, device="cpu")
    written = sitk.ReadImage(str(out))
    assert _geometry(result.labels) == _geometry(t1c)  # exactly, in memory
    assert _same_geometry_on_disk(written, t1c)
    assert written.GetPixelID() == sitk.sitkUInt8
    assert set(np.unique(sitk.GetArrayViewFromImage(written))) <= {0, 1, 2, 4}


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_report_volumes_and_label_set(phantom_case, tiny_model, tmp_path, mode):
    folder = phantom_case(shape=(24, 40, 36), spacing=(1.0, 1.0, 2.0))
    report = tmp_path / "r.json"
    result = segment(folder, tmp_path / "l.nii.gz", model=tiny_model, mode=mode,
                     labels="brats2023", report=report, postprocess=False, device="cpu")
    data = json.loads(report.read_text())
    array = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "l.nii.gz")))
    assert set(np.unique(array)) <= {0, 1, 2, 3}
    voxel_ml = 2.0 / 1000
    expected = {"necrotic": (array == 1).sum(), "edema": (array == 2).sum(),
                "enhancing": (array == 3).sum(), "whole": (array > 0).sum(),
                "core": np.isin(array, (1, 3)).sum(), "enhancing_tumour": (array == 3).sum()}
    for key, count in expected.items():
        assert data["volumes_ml"][key] == pytest.approx(count * voxel_ml, abs=1e-3)
    assert result.volumes_ml == data["volumes_ml"]
    assert {"read", "prepare", "network", "fusion", "postprocessing",
            "write"} <= set(data["timings_s"])
    steps = [step["step"] for step in data["preparation"]["steps"]]
    assert steps == ["reference grid", "alignment", "skull strip", "bias field",
                     "canonical grid", "resolution matching", "normalise and crop"]
    assert data["mode"] == mode and data["device"] == "cpu"
    assert data["model"]["name"].startswith("in-memory")


def test_attention_and_probability_maps(phantom_case, tiny_model, tmp_path):
    folder = phantom_case(shape=(24, 40, 36))
    result = segment(folder, None, model=tiny_model, attention_dir=tmp_path / "att",
                     probabilities_dir=tmp_path / "prob", device="cpu")
    names = sorted(p.name for p in (tmp_path / "att").iterdir())
    assert names == sorted(f"{n}.nii.gz" for n in ATTENTION_FILES)
    reference = sitk.ReadImage(str(next(folder.glob("*_t1ce.nii.gz"))))
    for path in (tmp_path / "att").iterdir():
        image = sitk.ReadImage(str(path))
        assert _same_geometry_on_disk(image, reference)
        assert image.GetPixelID() == sitk.sitkFloat32
    pt = sitk.GetArrayFromImage(result.attention["cga_tumour_pt"])
    pn = sitk.GetArrayFromImage(result.attention["cga_tumour_pn"])
    np.testing.assert_allclose(pt + pn, 1.0, atol=1e-5)
    task1 = [sitk.GetArrayFromImage(result.probabilities[f"task1_{n}"])
             for n in ("background", "necrotic", "edema", "enhancing", "normal")]
    np.testing.assert_allclose(np.sum(task1, axis=0), 1.0, atol=1e-5)
    assert len(list((tmp_path / "prob").iterdir())) == 12
    # the chosen channels are the extremes of the case-level channel weights
    info = result.report["attention"]["cga_tumour"]
    weights = np.array(info["channel_weights"])
    assert info["top_channel"] == int(weights.argmax())
    assert info["bottom_channel"] == int(weights.argmin())


def test_models_without_attention_write_no_attention_maps(phantom_case, tmp_path, caplog):
    model = build_model("omnet", width=2)
    segment(phantom_case(shape=(24, 40, 36)), None, model=model, attention_dir=tmp_path / "a",
            device="cpu")
    assert not (tmp_path / "a").exists()
    assert "no cross-task guided attention" in caplog.text


class _WindowSpy(torch.nn.Module):
    """Records the context window in force at each forward; predicts 'normal brain'."""

    context_window = "unset"

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(self.context_window)
        shape = (x.shape[0], 1, *x.shape[2:])
        normal = torch.zeros((x.shape[0], 5, *x.shape[2:]))
        normal[:, 4] = 5.0
        return normal, normal, torch.zeros((shape[0], 2, *shape[2:]))


@pytest.mark.parametrize("mode, window", [("fast", CoarseWindow((16, 32, 32), (2, 4, 4))),
                                          ("exact", None)])
def test_context_window_per_mode_and_restored(phantom_case, mode, window):
    spy = _WindowSpy().train()
    result = segment(phantom_case(shape=(24, 40, 36)), None, model=spy, mode=mode,
                     device="cpu")
    assert spy.seen and set(spy.seen) == {window}
    assert spy.context_window == "unset" and spy.training
    assert not sitk.GetArrayViewFromImage(result.labels).any()


def test_model_file_and_missing_bundled_model(phantom_case, tiny_model_file, tmp_path,
                                              monkeypatch):
    folder = phantom_case(shape=(24, 40, 36))
    result = segment(folder, None, model=tiny_model_file, device="cpu")
    assert result.report["model"]["name"] == "tiny-test"
    assert len(result.report["model"]["sha256"]) == 64
    monkeypatch.setenv("OMNET_MODELS_DIR", str(tmp_path / "empty"))
    with pytest.raises(ModelFileError, match="no bundled model"):
        segment(folder, tmp_path / "x.nii.gz", device="cpu")
    assert not (tmp_path / "x.nii.gz").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_asking_for_a_missing_gpu_is_a_clear_error():
    with pytest.raises(OMNetError, match="no CUDA GPU"):
        select_device("cuda")
    assert select_device("auto").type in ("cpu", "mps")


def test_report_says_which_file_was_read_as_each_sequence(phantom_case, tiny_model, tmp_path):
    folder = phantom_case(shape=(16, 24, 24), name="case")
    t1c = folder / "case_t1ce.nii.gz"
    renamed = tmp_path / "post_contrast_3d.nii.gz"   # a name that says nothing, given by flag
    t1c.rename(renamed)
    result = segment(case_input(folder, {"t1ce": renamed}), None, model=tiny_model,
                     device="cpu")
    assert result.report["inputs"] == {
        "flair": {"file": "case_flair.nii.gz", "found_by": "file name"},
        "t1": {"file": "case_t1.nii.gz", "found_by": "file name"},
        "t1ce": {"file": "post_contrast_3d.nii.gz", "found_by": "given"},
        "t2": {"file": "case_t2.nii.gz", "found_by": "file name"}}


def test_report_of_a_four_d_file_names_its_channels(phantom_case, tiny_model, tmp_path):
    folder = phantom_case(shape=(16, 24, 24), name="case")
    images = [sitk.ReadImage(str(folder / f"case_{role}.nii.gz"))
              for role in ("flair", "t1", "t1ce", "t2")]
    four_d = tmp_path / "BRATS_001.nii.gz"
    sitk.WriteImage(sitk.JoinSeries(images), str(four_d))
    inputs = segment(four_d, None, model=tiny_model, device="cpu").report["inputs"]
    assert inputs["t1ce"] == {"file": "BRATS_001.nii.gz", "found_by":
                              "4D image, channel 2 (Medical Segmentation Decathlon order)"}
    assert list(inputs) == ["flair", "t1", "t1ce", "t2"]
