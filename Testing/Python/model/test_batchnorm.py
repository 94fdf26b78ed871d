"""Running statistics follow Caffe's bias-corrected moving average."""

from __future__ import annotations

import torch

from omnet.model.blocks import CaffeBatchNorm3d


def test_running_mean_is_caffes_weighted_average() -> None:
    f = 0.9
    bn = CaffeBatchNorm3d(1, average_fraction=f).train()
    a = torch.full((2, 1, 2, 2, 2), 3.0)
    b = torch.full((2, 1, 2, 2, 2), 7.0)
    bn(a)
    assert bn.running_mean.item() == 3.0  # first step: no bias toward the initial 0
    bn(b)
    expected = (f * 3.0 + 7.0) / (f + 1.0)  # Caffe: sum_t = f sum + x, scale_t = f scale + 1
    assert abs(bn.running_mean.item() - expected) < 1e-6


def test_step_counter_survives_a_state_dict_round_trip() -> None:
    bn = CaffeBatchNorm3d(1, average_fraction=0.5).train()
    for value in (1.0, 2.0, 4.0):
        bn(torch.full((2, 1, 1, 1, 2), value))
    copy = CaffeBatchNorm3d(1, average_fraction=0.5).train()
    copy.load_state_dict(bn.state_dict())
    x = torch.full((2, 1, 1, 1, 2), 8.0)
    bn(x)
    copy(x)
    assert bn.running_mean.item() == copy.running_mean.item()


def test_bottleneck_conv_trains_correctly_under_cpu_bfloat16() -> None:
    """A depth-2 input (the bottleneck of a 16-slice patch) must get a sane weight gradient."""
    from omnet.model.blocks import Conv3x3x3

    torch.manual_seed(0)
    conv = Conv3x3x3(64, 64).train()
    x = torch.randn(8, 64, 2, 4, 4)
    grad = torch.randn(8, 64, 2, 4, 4)
    conv(x).backward(grad)
    reference = conv.weight.grad.clone()
    conv.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = conv(x)
    out.backward(grad.to(out.dtype))
    error = (conv.weight.grad - reference).abs().max() / reference.abs().max()
    assert error < 0.02
