"""Tile plans cover every voxel once, and stitching an exact predictor gives an exact result."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from omnet.errors import Cancelled
from omnet.inference.device import Precision
from omnet.inference.network import make_predictor
from omnet.inference.stitching import stitch_tiles
from omnet.inference.tiling import choose_tile_shape, plan_large_tiles, plan_overlap_tile
from omnet.model.networks import TaskLogits

SHAPES = [(23, 41, 37), (5, 20, 20), (16, 32, 32), (61, 90, 75)]


def _coverage(plan) -> np.ndarray:
    count = np.zeros(plan.shape, dtype=int)
    for tile in plan.tiles():
        count[tile.target] += 1
    return count


@pytest.mark.parametrize("shape", SHAPES)
def test_overlap_tile_plan_is_the_papers(shape):
    plan = plan_overlap_tile(shape)
    assert plan.tile_shape == (16, 32, 32)
    assert (_coverage(plan) == 1).all()
    for tile in plan.tiles():
        keep = tuple((s.start, s.stop) for s in tile.keep)
        # each patch keeps its central part: z-slices 5..9 of 16, rows/columns 6..25 of 32
        assert keep[0][0] == 5 and keep[1][0] == 6 and keep[2][0] == 6
        assert all(s.stop - s.start <= k for s, k in zip(tile.keep, (5, 20, 20)))
    z_starts = plan.axes[0].starts
    assert all(b - a == 5 for a, b in zip(z_starts, z_starts[1:]))  # stride 5 x 20 x 20
    y_starts = plan.axes[1].starts
    assert all(b - a == 20 for a, b in zip(y_starts, y_starts[1:]))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("tile", [(24, 40, 40), (32, 48, 64), (64, 96, 96)])
def test_large_tile_plan_keeps_interiors_at_seams(shape, tile):
    margin = (8, 16, 16)
    plan = plan_large_tiles(shape, tile, margin)
    assert (_coverage(plan) == 1).all()
    for axis, m in zip(plan.axes, margin):
        for i, (start, (k0, k1)) in enumerate(zip(axis.starts, axis.keeps)):
            if i > 0:  # a seam before this tile: at least `m` voxels from its input edge
                assert k0 - start >= m
            if i < len(axis.starts) - 1:
                assert start + axis.size - k1 >= m


def test_choose_tile_shape_respects_the_budget_and_multiples_of_8():
    shape = (145, 195, 158)
    for budget in (200_000, 1_000_000, 5_000_000):
        tile = choose_tile_shape(shape, budget, (8, 16, 16))
        assert np.prod(tile) <= budget and all(t % 8 == 0 for t in tile)
    whole = choose_tile_shape(shape, 10**8, (8, 16, 16))
    assert whole == (152, 200, 160)  # one tile: the volume rounded up to multiples of 8


def _plus_one(x: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"out": x + 1}


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_stitching_an_exact_predictor_is_exact(mode):
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(2, 29, 47, 53)).astype(np.float32)
    if mode == "exact":
        plan, batch = plan_overlap_tile(volume.shape[1:]), 7
    else:
        plan, batch = plan_large_tiles(volume.shape[1:], (24, 40, 40), (8, 16, 16)), 2
    stitched = stitch_tiles(volume, plan, _plus_one, batch_size=batch)
    np.testing.assert_array_equal(stitched["out"], volume + 1)


def test_tiles_without_brain_are_skipped_and_filled():
    volume = np.ones((1, 10, 60, 60), dtype=np.float32)
    brain = np.zeros((10, 60, 60), dtype=bool)
    brain[2:4, 2:6, 2:6] = True
    calls = []

    def predict(x):
        calls.append(len(x))
        return {"out": x + 1}

    plan = plan_overlap_tile(volume.shape[1:])
    stitched = stitch_tiles(volume, plan, predict, fill={"out": -5.0}, brain=brain)
    assert sum(calls) < len(plan)
    assert (stitched["out"][0, 2:4, 2:6, 2:6] == 2).all()
    assert (stitched["out"][0, :, 50:, 50:] == -5).all()


class _ShiftedIdentity(torch.nn.Module):
    """'Logits' that are the input itself: the softmax of each tile is known exactly."""

    context_window = None

    def forward(self, x):
        return TaskLogits(torch.cat([x, x[:, :1]], 1), x.flip(1).repeat(1, 2, 1, 1, 1)[:, :5],
                          x[:, :2] * 2)


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_network_predictor_stitches_softmax_of_identity_logits(mode):
    rng = np.random.default_rng(3)
    volume = rng.normal(size=(4, 21, 40, 44)).astype(np.float32)
    plan = (plan_overlap_tile(volume.shape[1:]) if mode == "exact"
            else plan_large_tiles(volume.shape[1:], (16, 32, 32), (4, 8, 8)))
    predictor = make_predictor(_ShiftedIdentity(), torch.device("cpu"), Precision(None))
    stitched = stitch_tiles(volume, plan, predictor, batch_size=4)
    x = torch.from_numpy(volume)[None]
    expected = _ShiftedIdentity()(x)
    for name, logits in zip(("task1", "task2", "task3"), expected):
        np.testing.assert_allclose(stitched[name], torch.softmax(logits, 1)[0].numpy(),
                                   rtol=1e-6, atol=1e-7)


def test_cancel_stops_between_batches():
    cancel = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        cancel.set()

    volume = np.ones((1, 20, 40, 40), dtype=np.float32)
    with pytest.raises(Cancelled):
        stitch_tiles(volume, plan_overlap_tile(volume.shape[1:]), _plus_one, cancel=cancel,
                     progress=progress)
    assert seen == [1]
