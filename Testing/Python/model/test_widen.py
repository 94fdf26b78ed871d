"""Widening a network (Net2WiderNet): twice the channels, the same function to start from."""

from __future__ import annotations

import pytest
import torch

from omnet.errors import ModelConfigError
from omnet.model import build_model
from omnet.model.context import Window
from omnet.model.widen import widen_network


def _trained_looking(variant: str = "omnet-cga", width: int = 4) -> torch.nn.Module:
    """A small network whose BatchNorm statistics and biases are away from their defaults."""
    torch.manual_seed(3)
    model = build_model(variant, width=width)
    model.train()
    model(torch.randn(2, 4, 8, 16, 16))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model.double().eval()  # float64: the comparison shows the function, not rounding


@pytest.mark.parametrize("variant", ["omnet-cga", "omnet", "omnet-se"])
def test_widened_network_computes_the_same_function(variant):
    narrow = _trained_looking(variant)
    wide = widen_network(narrow, noise=0.0)
    assert wide.config.width == 2 * narrow.config.width
    assert wide.head1.classifier.in_channels == 2 * narrow.head1.classifier.in_channels
    x = torch.randn(1, 4, 8, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        for before, after in zip(narrow(x), wide(x)):
            assert before.abs().max() > 0.1
            torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)


def test_widened_network_keeps_the_function_with_a_context_window():
    narrow = _trained_looking()
    wide = widen_network(narrow, noise=0.0)
    x = torch.randn(1, 4, 16, 32, 32, dtype=torch.float64)
    window = Window((8, 16, 16))
    with torch.no_grad():
        for before, after in zip(narrow(x, window=window), wide(x, window=window)):
            torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)


def test_noise_separates_the_copies_but_stays_close_to_the_function():
    narrow = _trained_looking()
    wide = widen_network(narrow, noise=0.01, generator=torch.Generator().manual_seed(0))
    weight = wide.backbone.encoders[0][0][0].weight
    half = weight.shape[0] // 2
    assert not torch.equal(weight[:half], weight[half:])
    x = torch.randn(1, 4, 8, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        before, after = narrow(x)[0], wide(x)[0]
    difference = (after - before).abs().max() / before.abs().max()
    assert 0 < difference < 0.1


def test_an_ensemble_is_refused():
    ensemble = build_model("omnet-cga", width=4, members=2)
    with pytest.raises(ModelConfigError, match="single OM-Net"):
        widen_network(ensemble)
