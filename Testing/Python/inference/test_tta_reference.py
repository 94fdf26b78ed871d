"""Test-time mirroring with its uncertainty map, and the tile-by-tile reference of fast mode."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from omnet.inference import reference, tta
from omnet.inference.fusion import fuse_decisions
from omnet.inference.predict import NetworkRun
from omnet.labels import EDEMA


def test_mirrorings_are_the_distinct_axis_sets():
    every = tta.mirrorings("all")
    assert len(every) == len(set(every)) == 8 and every[0] == ()
    assert tta.mirrorings("x") == [(), (2,)]
    with pytest.raises(ValueError, match="unknown"):
        tta.mirrorings("diagonal")


def _one_hot(mask: np.ndarray, positive: int, classes: int) -> np.ndarray:
    out = np.zeros((classes, *mask.shape), dtype=np.float32)
    out[0] = ~mask
    out[positive] = mask
    return out


def _fake_predict(where):
    """A predict_crop stand-in: edema where ``where(volume)`` is true, certain otherwise."""

    def predict(volume, brain, model, device, precision, settings, attention, cancel,
                progress, with_probabilities):
        mask = where(volume)
        outputs = {"task1": _one_hot(mask, EDEMA, 5), "task2": _one_hot(mask, EDEMA, 5),
                   "task3": _one_hot(np.zeros_like(mask), 1, 2)}
        return NetworkRun(outputs, torch.device("cpu"), "float32", volume.shape[1:], 1, 1)

    return predict


def test_a_mirror_equivariant_network_has_no_uncertainty(monkeypatch):
    volume = np.random.default_rng(0).standard_normal((4, 8, 10, 12)).astype(np.float32)
    monkeypatch.setattr(tta, "predict_crop", _fake_predict(lambda v: v[0] > 0.5))
    run = tta.predict_with_tta(volume, volume[0] != 0, None, torch.device("cpu"), kind="all")
    classes = fuse_decisions(run.outputs["tumour"][0], run.outputs["refined"][0],
                             run.outputs["enhancing"][0])
    assert np.array_equal(classes == EDEMA, volume[0] > 0.5)
    assert np.all(run.outputs["uncertainty"] == 0)
    assert run.tiles == 8


def test_uncertainty_is_the_share_of_runs_that_disagree(monkeypatch):
    volume = np.ones((4, 8, 10, 12), dtype=np.float32)

    def left_half(v):  # depends on position only, so mirrored runs disagree
        mask = np.zeros(v.shape[1:], dtype=bool)
        mask[..., :6] = True
        return mask

    monkeypatch.setattr(tta, "predict_crop", _fake_predict(left_half))
    run = tta.predict_with_tta(volume, volume[0] != 0, None, torch.device("cpu"), kind="x",
                               with_probabilities=True)
    # the mean tumour probability is 0.5 everywhere: not tumour, and one run of two disagrees
    assert np.all(run.outputs["tumour"] == 0)
    assert np.allclose(run.outputs["uncertainty"], 0.5)
    assert np.allclose(run.outputs["task1"][EDEMA], 0.5)


def test_segment_with_tta_writes_the_uncertainty_map(phantom_case, tiny_model_file, tmp_path):
    from omnet.inference.pipeline import segment

    case = phantom_case()
    target = tmp_path / "uncertainty.nii.gz"
    result = segment(case, tmp_path / "labels.nii.gz", model=tiny_model_file, device="cpu",
                     tta="x", uncertainty=target)
    image = sitk.ReadImage(str(target))
    reference_image = sitk.ReadImage(str(next(case.glob("*_t1ce.nii.gz"))))
    assert image.GetSize() == reference_image.GetSize()
    assert np.allclose(image.GetOrigin(), reference_image.GetOrigin())
    values = set(np.unique(sitk.GetArrayFromImage(image)).tolist())
    assert values <= {0.0, 0.5, 1.0} and 0.5 in values  # two runs: agree, one, none
    assert "mirroring" in result.report["mode"]


def test_reference_tiles_reproduce_a_pointwise_network(monkeypatch):
    """With a network that looks at each voxel alone, tiling cannot change the answer."""

    def pointwise(network, device, precision, channels_last=False, with_probabilities=False):
        def predict(x):
            return {"tumour": (x[:, :1] > 0.3).to(torch.uint8),
                    "refined": torch.where(x[:, 1:2] > 0, EDEMA, 1).to(torch.uint8),
                    "enhancing": (x[:, 2:3] > 1.0).to(torch.uint8)}
        return predict

    monkeypatch.setattr(reference, "make_predictor", pointwise)
    monkeypatch.setattr(reference, "inference_copy", lambda module, *a, **k: module)
    rng = np.random.default_rng(3)
    volume = np.zeros((4, 30, 70, 50), dtype=np.float32)
    volume[:, 3:27, 5:66, 4:47] = rng.standard_normal((4, 24, 61, 43))
    brain = volume[0] != 0
    source = type("Source", (), {"module": torch.nn.Identity()})()
    got = reference.reference_classes(volume, brain, source, torch.device("cpu"),
                                      tile=(16, 32, 32), keep=(8, 16, 16), precision="float32")
    expected = fuse_decisions((volume[0] > 0.3).astype(np.uint8),
                              np.where(volume[1] > 0, EDEMA, 1).astype(np.uint8),
                              (volume[2] > 1.0).astype(np.uint8))
    region = reference.network_region(brain)
    assert np.array_equal(got[region], expected[region])
    assert not got[~np.pad(np.ones([r.stop - r.start for r in region], bool),
                           [(r.start, n - r.stop) for r, n in zip(region, brain.shape)])].any()


def test_reference_refuses_a_keep_off_the_pooling_grid():
    with pytest.raises(ValueError, match="multiple of 8"):
        reference.reference_classes(np.zeros((4, 8, 8, 8), np.float32), np.ones((8, 8, 8), bool),
                                    None, torch.device("cpu"), tile=(16, 32, 32), keep=(6, 16, 16))
