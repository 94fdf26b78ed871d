"""CGA arithmetic against a direct computation on small hand-made tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omnet.labels import CORE_CLASSES, TUMOUR_CLASSES
from omnet.model import build_model
from omnet.model.cga import CrossTaskGuidedAttention
from omnet.model.context import context_sum


def _module(mode: str = "full", classes: int = 5, channels: int = 3):
    torch.manual_seed(1)
    return CrossTaskGuidedAttention(channels, classes, TUMOUR_CLASSES, mode).double()


def _inputs(channels: int = 3, shape=(2, 3, 4)):
    gen = torch.Generator().manual_seed(2)
    features = torch.rand(1, channels, *shape, generator=gen, dtype=torch.float64)
    probs = torch.softmax(torch.randn(1, 5, *shape, generator=gen, dtype=torch.float64), 1)
    return features, probs


def _conv1x1(conv: torch.nn.Conv3d, x: np.ndarray) -> np.ndarray:
    w = conv.weight.detach().numpy()[:, :, 0, 0, 0]
    return np.einsum("oc,czyx->ozyx", w, x) + conv.bias.detach().numpy()[:, None, None, None]


def test_full_cga_equals_direct_computation() -> None:
    module = _module()
    features, probs = _inputs()
    out, inner = module(features, probs)
    f, p = features[0].numpy(), probs[0].numpy()
    pt = p[list(TUMOUR_CLASSES)].sum(0)
    pn = p[[0, 4]].sum(0)
    m_t = (pt * f).sum(axis=(1, 2, 3))
    m_n = (pn * f).sum(axis=(1, 2, 3))
    m_t, m_n = m_t / np.abs(m_t).sum(), m_n / np.abs(m_n).sum()
    s_t = _conv1x1(module.tumour_path, f * m_t[:, None, None, None])
    s_n = _conv1x1(module.nontumour_path, f * m_n[:, None, None, None])
    direct = _conv1x1(module.merge, pt * s_t + pn * s_n)
    np.testing.assert_allclose(out[0].detach().numpy(), direct, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(inner["m_t"][0, :, 0, 0, 0].numpy(), m_t, rtol=1e-12)


def test_channel_importance_is_l1_normalised() -> None:
    module = _module(channels=6)
    features, probs = _inputs(channels=6)
    _, inner = module(features, probs)
    for key in ("m_t", "m_n"):
        assert inner[key].sum(dim=1).item() == pytest.approx(1.0, abs=1e-12)


def test_pt_one_everywhere_reduces_compseg_to_the_tumour_pathway() -> None:
    module = _module()
    features, _ = _inputs()
    probs = torch.zeros(1, 5, 2, 3, 4, dtype=torch.float64)
    probs[:, 2] = 1.0  # all mass on edema, a tumour class: Pt = 1, Pn = 0
    out, _ = module(features, probs)
    f = features[0].numpy()
    m_t = f.sum(axis=(1, 2, 3))
    m_t = m_t / m_t.sum()
    direct = _conv1x1(module.merge, _conv1x1(module.tumour_path, f * m_t[:, None, None, None]))
    np.testing.assert_allclose(out[0].detach().numpy(), direct, rtol=1e-10)


def test_minus_mode_sums_the_pathways_without_weighting() -> None:
    module = _module("minus")
    features, probs = _inputs()
    out, inner = module(features, probs)
    f = features[0].numpy()
    s_t = _conv1x1(module.tumour_path, f * inner["m_t"][0].numpy())
    s_n = _conv1x1(module.nontumour_path, f * inner["m_n"][0].numpy())
    np.testing.assert_allclose(out[0].detach().numpy(), _conv1x1(module.merge, s_t + s_n),
                               rtol=1e-10)


@pytest.mark.parametrize("mode,present,absent", [("tumour", "m_t", "m_n"),
                                                  ("nontumour", "m_n", "m_t")])
def test_single_branch_ablations(mode: str, present: str, absent: str) -> None:
    _, inner = _module(mode)(*_inputs())
    assert present in inner and absent not in inner


def test_guidance_receives_no_gradient() -> None:
    module = _module()
    features, probs = _inputs()
    features.requires_grad_(True)
    probs.requires_grad_(True)
    out, _ = module(features, probs)
    out.sum().backward()
    assert probs.grad is None
    assert features.grad is not None and features.grad.abs().sum() > 0


def test_task_losses_do_not_reach_the_guiding_head() -> None:
    torch.manual_seed(0)
    model = build_model("omnet-cga", width=4).train()
    out = model.forward_groups(torch.randn(2, 4, 16, 32, 32),
                               {2: torch.tensor([0]), 3: torch.tensor([1])})
    (out[2].sum() + out[3].sum()).backward()
    head1 = [p.grad for p in model.head1.parameters()]
    assert all(g is None or g.abs().sum() == 0 for g in head1)
    assert model.head2.merge.weight.grad.abs().sum() > 0
    assert model.backbone.encoders[0][0][0].weight.grad.abs().sum() > 0


def test_core_module_uses_core_classes() -> None:
    module = CrossTaskGuidedAttention(2, 2, CORE_CLASSES)
    probs = torch.zeros(1, 5, 1, 1, 2)
    probs[0, 1, 0, 0, 0] = 1.0  # necrosis: core
    probs[0, 2, 0, 0, 1] = 1.0  # edema: not core
    pt, pn = module.guidance(probs)
    assert pt.flatten().tolist() == [1.0, 0.0] and pn.flatten().tolist() == [0.0, 1.0]


def test_window_sum_equals_brute_force_box_sum() -> None:
    x = torch.rand(1, 2, 5, 7, 6, dtype=torch.float64)
    window = (3, 4, 5)
    out = context_sum(x, window)
    a = x.numpy()
    expect = np.zeros_like(a)
    for z in range(5):
        for y in range(7):
            for w in range(6):
                z0, y0, w0 = z - 1, y - 2, w - 2  # size // 2 before the voxel
                expect[..., z, y, w] = a[..., max(z0, 0):z0 + 3, max(y0, 0):y0 + 4,
                                         max(w0, 0):w0 + 5].sum(axis=(-1, -2, -3))
    np.testing.assert_allclose(out.numpy(), expect, rtol=1e-6)


def test_window_larger_than_input_equals_patch_mode() -> None:
    module = _module()
    features, probs = _inputs()
    patch, _ = module(features, probs)
    windowed, _ = module(features, probs, window=(8, 8, 8))
    torch.testing.assert_close(patch, windowed, rtol=1e-6, atol=1e-6)


def test_shared_feature_sum_gives_the_same_non_tumour_pathway() -> None:
    module = _module()
    features, probs = _inputs(shape=(6, 7, 5))
    window = (3, 4, 3)
    direct, _ = module(features, probs, window=window)
    shared, _ = module(features, probs, window=window,
                       feature_sum=context_sum(features, window))
    torch.testing.assert_close(direct, shared, rtol=1e-9, atol=1e-12)
