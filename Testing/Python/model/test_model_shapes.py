"""Every variant gives the three tasks' logits at input resolution; bad sizes are refused."""

from __future__ import annotations

import pytest
import torch

from omnet.errors import ModelConfigError
from omnet.model import build_model
from omnet.registry import VARIANTS, ModelConfig


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("spatial", [(16, 32, 32), (8, 16, 24)])
def test_shapes_of_every_variant(variant: str, spatial: tuple[int, int, int]) -> None:
    model = build_model(variant, width=4).eval()
    x = torch.randn(2, 4, *spatial)
    with torch.no_grad():
        logits = model(x)
    assert [tuple(t.shape) for t in logits] == [(2, 5, *spatial), (2, 5, *spatial),
                                                (2, 2, *spatial)]
    assert all(torch.isfinite(t).all() for t in logits)


@pytest.mark.parametrize("variant", ["omnet-cga", "omnet", "mc3"])
def test_window_mode_keeps_shapes(variant: str) -> None:
    model = build_model(variant, width=4).eval()
    x = torch.randn(1, 4, 16, 40, 40)
    with torch.no_grad():
        logits = model(x, window=(16, 32, 32))
    assert tuple(logits.task2.shape) == (1, 5, 16, 40, 40)


@pytest.mark.parametrize("spatial", [(16, 32, 30), (12, 32, 32), (16, 32)])
def test_sizes_that_are_not_multiples_of_eight_are_refused(spatial: tuple[int, ...]) -> None:
    model = build_model("omnet-cga", width=4).eval()
    with pytest.raises(ModelConfigError, match="multiples of 8"):
        model(torch.randn(1, 4, *spatial))


@pytest.mark.parametrize("kwargs", [{"variant": "unet"}, {"width": 3}, {"width": 0},
                                    {"dropout": 1.0}, {"bn_average_fraction": 1.0},
                                    {"in_channels": 0}])
def test_bad_configs_are_refused(kwargs: dict) -> None:
    with pytest.raises(ModelConfigError):
        ModelConfig(**kwargs)


def test_attention_internals_are_returned_for_cga() -> None:
    model = build_model("omnet-cga", width=4).eval()
    with torch.no_grad():
        _, attention = model(torch.randn(1, 4, 16, 32, 32), return_attention=True)
    assert tuple(attention["features"].shape) == (1, 4, 16, 32, 32)
    for name in ("cga_tumour", "cga_core"):
        inner = attention[name]
        assert tuple(inner["pt"].shape) == (1, 1, 16, 32, 32)
        assert torch.allclose(inner["pt"] + inner["pn"], torch.ones(1), atol=1e-5)
        assert tuple(inner["m_t"].shape) == (1, 4, 1, 1, 1)


def test_forward_groups_gives_each_task_its_own_samples() -> None:
    model = build_model("omnet-cga", width=4).train()
    x = torch.randn(5, 4, 16, 32, 32)
    groups = {1: torch.tensor([0, 1]), 2: torch.tensor([2, 3, 0]), 3: torch.tensor([4])}
    out = model.forward_groups(x, groups)
    assert {k: tuple(v.shape[:2]) for k, v in out.items()} == {1: (2, 5), 2: (3, 5), 3: (1, 2)}


def test_cascade_tasks_come_from_their_own_networks() -> None:
    torch.manual_seed(0)
    model = build_model("mc2", width=4).eval()
    x = torch.randn(1, 4, 16, 32, 32)
    with torch.no_grad():
        logits = model(x)
        net1, net2 = model.networks
        assert torch.equal(logits.task1, net1(x))
        assert torch.equal(logits.task2, net2(x))
        # task 3 is derived exactly from task 2's probabilities
        p5 = torch.softmax(logits.task2, 1)[:, 3]
        p2 = torch.softmax(logits.task3, 1)[:, 1]
    assert torch.allclose(p5, p2, atol=1e-6)
