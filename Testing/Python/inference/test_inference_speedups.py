"""The fast paths compute what the plain ones do: folded BatchNorm, channels_last layout,
decisions instead of probabilities, the network region, memory budgets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omnet.inference.device import Precision, bytes_per_voxel, tile_voxel_budget
from omnet.inference.fusion import fuse_decisions, fuse_tasks, task_decisions
from omnet.inference.model_source import resolve_model
from omnet.inference.network import make_predictor
from omnet.inference.optimize import fold_batchnorm, inference_copy
from omnet.inference.predict import TilingSettings, predict_crop
from omnet.inference.stitching import embed_outputs
from omnet.inference.tiling import network_region
from omnet.model import build_model
from omnet.model.context import CoarseWindow

CPU = torch.device("cpu")


def _trained_looking(variant: str, width: int = 4, seed: int = 0) -> torch.nn.Module:
    """A random model whose BatchNorms hold non-trivial running statistics and affines."""
    torch.manual_seed(seed)
    model = build_model(variant, width=width)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            with torch.no_grad():
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model


@pytest.mark.parametrize("variant", ["omnet-cga", "omnet-se", "mc3"])
def test_folded_copy_computes_the_same_function_and_leaves_the_original(variant):
    model = _trained_looking(variant).double().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    copy = inference_copy(model, CPU, fold=True, channels_last=False)
    assert model.training  # the caller's module keeps its mode ...
    for key, value in model.state_dict().items():  # ... and its weights
        assert torch.equal(value, before[key])
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in copy.modules())
    x = torch.randn(1, 4, 16, 32, 24, dtype=torch.float64)
    model.eval()
    with torch.no_grad():
        for a, b in zip(model(x), copy(x)):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_fold_counts_every_conv_batchnorm_pair_including_transposed_convs():
    model = build_model("omnet-cga", width=4).eval()
    batchnorms = sum(isinstance(m, torch.nn.BatchNorm3d) for m in model.modules())
    assert fold_batchnorm(model) == batchnorms
    transposed = [m for m in model.modules() if isinstance(m, torch.nn.ConvTranspose3d)]
    assert len(transposed) == 3


def test_channels_last_copy_gives_the_default_layout_output():
    model = _trained_looking("omnet-cga", width=8).eval()
    plain = inference_copy(model, CPU, fold=True, channels_last=False)
    fast = inference_copy(model, CPU, fold=True, channels_last=True)
    x = torch.randn(1, 4, 16, 32, 32)
    window = CoarseWindow((16, 32, 32), (2, 4, 4))
    with torch.no_grad():
        expected = plain(x, window=window)
        got = fast(x.contiguous(memory_format=torch.channels_last_3d), window=window)
        for a, b in zip(expected, got):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
        with torch.autocast("cpu", dtype=torch.bfloat16):  # bf16: within bf16 rounding
            low = fast(x.contiguous(memory_format=torch.channels_last_3d), window=window)
        for a, b in zip(expected, low):  # mean |probability difference| below 1%
            assert (torch.softmax(a, 1) - torch.softmax(b.float(), 1)).abs().mean() < 0.01


def test_weights_stored_in_the_autocast_dtype_change_nothing_under_autocast():
    model = _trained_looking("omnet-cga", width=4, seed=2).eval()
    float_weights = inference_copy(model, CPU)
    half_weights = inference_copy(model, CPU, dtype=torch.bfloat16)
    assert {p.dtype for p in half_weights.parameters()} == {torch.bfloat16}
    x = torch.randn(1, 4, 16, 32, 32).contiguous(memory_format=torch.channels_last_3d)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for a, b in zip(float_weights(x), half_weights(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def _random_probabilities(rng, classes, shape):
    p = rng.random((classes, *shape)).astype(np.float32) ** 3
    return p / p.sum(axis=0, keepdims=True)


def test_fusing_decisions_equals_fusing_probabilities():
    rng = np.random.default_rng(0)
    shape = (12, 20, 18)
    p1 = _random_probabilities(rng, 5, shape)
    p1[1:4, 3:9, 5:15, 4:14] *= 4  # a tumour-ish blob so that every rule matters
    p1 /= p1.sum(axis=0, keepdims=True)
    p2, p3 = _random_probabilities(rng, 5, shape), _random_probabilities(rng, 2, shape)
    d = task_decisions(p1, p2, p3)
    assert {a.dtype for a in d.values()} == {np.dtype(np.uint8)}
    fused = fuse_decisions(d["tumour"], d["refined"], d["enhancing"])
    np.testing.assert_array_equal(fused, fuse_tasks(p1, p2, p3))
    assert set(np.unique(fused)) == {0, 1, 2, 3}


def test_predictor_decisions_equal_decisions_of_its_probabilities():
    model = _trained_looking("omnet-cga", width=4, seed=5).eval()
    predict = make_predictor(model, CPU, Precision(None), with_probabilities=True)
    out = predict(torch.randn(2, 4, 16, 32, 32))
    for k in range(2):
        expected = task_decisions(*(out[t][k].numpy() for t in ("task1", "task2", "task3")))
        for name, value in expected.items():
            assert out[name].dtype == torch.uint8 and out[name].shape[1] == 1
            np.testing.assert_array_equal(out[name][k, 0].numpy(), value)
    lean = make_predictor(model, CPU, Precision(None), with_probabilities=False)
    assert set(lean(torch.randn(1, 4, 16, 32, 32))) == {"tumour", "refined", "enhancing"}


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_predict_crop_decisions_match_its_stitched_probabilities(mode):
    model = _trained_looking("omnet-cga", width=2, seed=6)
    rng = np.random.default_rng(1)
    volume = rng.normal(size=(4, 21, 45, 38)).astype(np.float32)
    brain = np.zeros(volume.shape[1:], dtype=bool)
    brain[3:18, 6:40, 5:30] = True
    volume[:, ~brain] = 0
    run = predict_crop(volume, brain, resolve_model(model, CPU), CPU, "float32",
                       TilingSettings(mode=mode), with_probabilities=True)
    expected = task_decisions(run.outputs["task1"], run.outputs["task2"], run.outputs["task3"])
    for name, value in expected.items():
        np.testing.assert_array_equal(run.outputs[name][0], value)
    assert run.outputs["tumour"].shape == (1, 21, 45, 38)


def test_network_region_is_the_brain_box_grown_to_multiples_of_eight():
    mask = np.zeros((40, 70, 50), dtype=bool)
    mask[5:18, 10:61, 3:47] = True  # box sizes 13, 51, 44
    region = network_region(mask)
    sizes = [s.stop - s.start for s in region]
    assert sizes == [16, 56, 48]
    for s, lo, hi, n in zip(region, (5, 10, 3), (18, 61, 47), mask.shape):
        assert 0 <= s.start <= lo and hi <= s.stop <= n
    assert network_region(np.ones((13, 20, 8), dtype=bool)) == (slice(0, 13), slice(0, 20),
                                                                slice(0, 8))


def test_embedded_outputs_hold_the_fill_outside_the_region():
    region = (slice(2, 4), slice(1, 3), slice(0, 5))
    inner = {"p": np.full((2, 2, 2, 5), 7.0, np.float32), "d": np.ones((1, 2, 2, 5), np.uint8)}
    out = embed_outputs(inner, region, (6, 4, 5), {"p": np.array([1.0, 0.5])})
    assert out["p"].shape == (2, 6, 4, 5) and out["d"].dtype == np.uint8
    assert (out["p"][(slice(None), *region)] == 7).all()
    assert out["p"][0, 0, 0, 0] == 1.0 and out["p"][1, 5, 3, 4] == 0.5
    assert out["d"].sum() == 2 * 2 * 5


def test_memory_budgets_follow_precision_and_the_gpu_limit(monkeypatch):
    assert bytes_per_voxel(32, "float32") > bytes_per_voxel(32, "bfloat16")
    monkeypatch.setattr("omnet.inference.device._available_bytes", lambda device: 80 << 30)
    gpu = tile_voxel_budget(torch.device("cuda"), 32, "bfloat16")
    assert gpu * bytes_per_voxel(32, "bfloat16") <= 7 << 30
    cpu_half = tile_voxel_budget(CPU, 32, "bfloat16", fraction=0.01)
    cpu_full = tile_voxel_budget(CPU, 32, "float32", fraction=0.01)
    assert cpu_full < cpu_half
