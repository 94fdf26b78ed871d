"""Precise BatchNorm: running statistics re-estimated for the weights as they are."""

from __future__ import annotations

import torch
from torch import nn

from omnet.model.blocks import CaffeBatchNorm3d
from omnet.training.batchnorm import recalibrate_batchnorm


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(2, 3, 1), CaffeBatchNorm3d(3), nn.Dropout3d(0.5))
    norm = model[1]
    norm.running_mean.fill_(100.0)  # statistics that trail the weights badly
    norm.running_var.fill_(50.0)
    norm.num_batches_tracked.fill_(4000)
    return model


def test_running_statistics_become_the_average_over_the_batches():
    model = _model()
    batches = [torch.randn(2, 2, 4, 4, 4) * (k + 1) + k for k in range(3)]
    conv = model[0]
    with torch.no_grad():
        outputs = [conv(x) for x in batches]
    expected_mean = torch.stack([o.mean(dim=(0, 2, 3, 4)) for o in outputs]).mean(0)
    expected_var = torch.stack([o.transpose(0, 1).reshape(3, -1).var(dim=1, unbiased=True)
                                for o in outputs]).mean(0)
    weights = {k: v.clone() for k, v in model.state_dict().items() if "running" not in k}
    used = recalibrate_batchnorm(model, batches, lambda m, x: m(x))
    norm = model[1]
    assert used == 3
    assert torch.allclose(norm.running_mean, expected_mean, atol=1e-5)
    assert torch.allclose(norm.running_var, expected_var, rtol=1e-4)
    for key, value in weights.items():
        if key.endswith("num_batches_tracked"):
            assert int(model.state_dict()[key]) == 4000
        else:
            assert torch.equal(model.state_dict()[key], value)


def test_the_model_comes_back_as_it_was_otherwise():
    model = _model().eval()
    norm = model[1]
    momentum = norm.momentum
    recalibrate_batchnorm(model, [torch.randn(1, 2, 4, 4, 4)], lambda m, x: m(x))
    assert not model.training and norm.momentum == momentum
    assert "forward" not in norm.__dict__  # the Caffe forward is back
    model.train()
    model(torch.randn(2, 2, 4, 4, 4))
    assert int(norm.num_batches_tracked) == 4001


def test_no_batches_keeps_the_statistics():
    model = _model()
    assert recalibrate_batchnorm(model, [], lambda m, x: m(x)) == 0
    assert torch.all(model[1].running_mean == 100.0)
    assert torch.all(model[1].running_var == 50.0)
