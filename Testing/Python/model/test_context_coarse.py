"""Context windows summed per cell (fast inference) against brute force and analytic values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from omnet.model import build_model
from omnet.model.cga import l1_normalise
from omnet.model.context import CoarseWindow, context_mean, context_sum, scale_by_context


def _brute_window_sum(a: np.ndarray, voxel: tuple[int, int, int], size) -> np.ndarray:
    """Sum of a[..., window] with ``size // 2`` voxels before ``voxel`` (clipped)."""
    lo = [v - s // 2 for v, s in zip(voxel, size)]
    box = tuple(slice(max(0, start), max(0, start + s)) for start, s in zip(lo, size))
    return a[(..., *box)].sum(axis=(-1, -2, -3))


def _repeat(cells: torch.Tensor, steps) -> torch.Tensor:
    out = cells
    for dim, step in zip((2, 3, 4), steps):
        out = out.repeat_interleave(step, dim=dim)
    return out


def test_cell_value_is_the_mean_of_the_exact_window_sums_at_its_corners():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, 2, 8, 12, 16, generator=gen, dtype=torch.float64)
    size, step = (4, 8, 8), (2, 4, 4)
    out = context_sum(x, CoarseWindow(size, step)).numpy()
    assert out.shape == (1, 2, 4, 3, 4)
    a = x.numpy()
    for k in itertools.product(*[range(n) for n in out.shape[2:]]):
        corners = [_brute_window_sum(a, tuple(s * (ki + o) for s, ki, o in zip(step, k, c)), size)
                   for c in itertools.product((0, 1), repeat=3)]
        np.testing.assert_allclose(out[(..., *k)], np.mean(corners, axis=0), rtol=1e-12)


def test_linear_field_gives_the_window_centred_on_each_cell():
    size, step, shape = (16, 32, 32), (2, 4, 4), (48, 96, 96)
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    field = 3.0 + 0.5 * z - 0.25 * y + 0.125 * x
    out = context_sum(torch.from_numpy(field)[None, None], CoarseWindow(size, step))[0, 0]
    volume = np.prod(size)
    # interior cells (their whole window inside the volume): sum = volume x field(centre)
    for k in itertools.product(range(4, 20), range(4, 20), range(4, 20)):
        centre = [s * ki + (s - 1) / 2 for s, ki in zip(step, k)]
        expected = volume * (3.0 + 0.5 * centre[0] - 0.25 * centre[1] + 0.125 * centre[2])
        assert out[k].item() == pytest.approx(expected, rel=1e-12)


def test_coarse_channel_weights_stay_close_to_per_voxel_ones_on_a_smooth_field():
    """Tolerance: on features that vary over ~4 voxels, the L1 distance between the
    L1-normalised channel weights of a cell and of each of its voxels is below 0.05 (of at
    most 2); both are distributions over the channels."""
    gen = torch.Generator().manual_seed(1)
    shape, size, step = (32, 64, 64), (16, 32, 32), (2, 4, 4)
    coarse_grid = torch.rand(1, 8, 8, 16, 16, generator=gen, dtype=torch.float64)
    field = torch.nn.functional.interpolate(coarse_grid, size=shape, mode="trilinear") + 0.1
    exact = l1_normalise(context_sum(field, size))
    coarse = _repeat(l1_normalise(context_sum(field, CoarseWindow(size, step))), step)
    assert (coarse - exact).abs().sum(dim=1).max().item() < 0.05


def test_sizes_that_are_not_whole_cells_fall_back_to_per_voxel_windows():
    x = torch.rand(1, 2, 6, 10, 12, dtype=torch.float64)
    window = CoarseWindow((4, 8, 8), (2, 4, 4))
    torch.testing.assert_close(context_sum(x, window), context_sum(x, (4, 8, 8)))


@pytest.mark.parametrize("channels_last", [False, True])
def test_scale_by_cell_factors_equals_expanding_them(channels_last):
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 8, 16, 12, generator=gen)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    factors = torch.rand(2, 3, 4, 4, 3, generator=gen)
    out = scale_by_context(x, factors)
    torch.testing.assert_close(out, x * _repeat(factors, (2, 4, 4)), rtol=0, atol=0)
    assert out.is_contiguous(memory_format=torch.channels_last_3d) == channels_last
    per_voxel = torch.rand(2, 3, 8, 16, 12, generator=gen)
    torch.testing.assert_close(scale_by_context(x, per_voxel), x * per_voxel)


def test_coarse_mean_is_per_voxel_and_equals_the_cell_mean():
    x = torch.rand(1, 3, 8, 16, 16, dtype=torch.float64)
    window = CoarseWindow((4, 8, 8), (2, 4, 4))
    mean = context_mean(x, window)
    assert mean.shape == x.shape
    ones = torch.ones(1, 1, 8, 16, 16, dtype=torch.float64)
    cells = context_sum(x, window) / context_sum(ones, window)
    torch.testing.assert_close(mean, _repeat(cells, (2, 4, 4)))


def _smooth_input(shape=(24, 48, 48)) -> torch.Tensor:
    low = torch.randn(1, 4, 6, 8, 8, dtype=torch.float64)
    return torch.nn.functional.interpolate(low, size=shape, mode="trilinear")


def test_cga_network_with_coarse_windows_stays_near_per_voxel_windows():
    """Tolerance: softmax probabilities within 0.05 of the per-voxel-window network (a
    random width-4 OM-Net + CGA on a smooth input); the whole-input context differs more."""
    torch.manual_seed(3)
    model = build_model("omnet-cga", width=4).double().eval()
    x = _smooth_input()
    with torch.no_grad():
        coarse = model(x, window=CoarseWindow((16, 32, 32), (2, 4, 4)))
        exact = model(x, window=(16, 32, 32))
        whole = model(x)
    for a, b, c in zip(coarse, exact, whole):
        assert a.shape == b.shape
        pa, pb, pc = (torch.softmax(t, 1) for t in (a, b, c))
        assert (pa - pb).abs().max().item() < 0.05
        assert (pa - pb).abs().max().item() <= (pc - pb).abs().max().item()


def test_se_network_runs_with_coarse_windows():
    torch.manual_seed(4)
    model = build_model("omnet-se", width=8).eval()
    with torch.no_grad():
        logits = model(_smooth_input().float(), window=CoarseWindow((16, 32, 32), (2, 4, 4)))
    assert [tuple(t.shape[1:]) for t in logits] == [(5, 24, 48, 48), (5, 24, 48, 48),
                                                     (2, 24, 48, 48)]
    assert all(torch.isfinite(t).all() for t in logits)
