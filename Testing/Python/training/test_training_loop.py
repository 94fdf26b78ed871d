"""The trainer on tiny synthetic data: it learns, checkpoints, resumes exactly, stops cleanly."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from conftest import memory_case

from omnet.errors import Cancelled
from omnet.model import build_model
from omnet.training import checkpoint as ckpt
from omnet.training.runtime import Precision
from omnet.training.schedule import make_plan
from omnet.training.trainer import Trainer

CPU = torch.device("cpu")
FP32 = Precision(None, False)


def _cases():
    return [memory_case("a", 1), memory_case("b", 2, centre=(10, 18, 22))]


def _trainer(config, folder, validator=None, stop=None, monitors=()) -> Trainer:
    torch.manual_seed(config.run.seed)
    model = build_model(config.model)
    return Trainer(config, make_plan(config, 2), model, _cases(), device=CPU, precision=FP32,
                   checkpoint_dir=folder, validator=validator, stop=stop, monitors=monitors)


def _params(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_a_few_iterations_lower_the_loss(tiny_config, tmp_path):
    config = tiny_config(schedule={"stage_lengths": [0, 0, 24]},
                         optim={"lr": 1e-2, "momentum": 0.9},
                         sampling={"patches_per_task": 3}, run={"checkpoint_every": 1000})
    trainer = _trainer(config, tmp_path)
    losses = []
    for i in range(24):
        record = trainer.train_step(i)
        losses.append([record.loss[f"task{t}"] for t in (1, 2, 3)])
    losses = np.array(losses)
    assert np.all(losses[-6:].mean(axis=0) < losses[:6].mean(axis=0))


def test_curriculum_trains_only_the_stage_tasks(tiny_config, tmp_path):
    config = tiny_config(schedule={"stage_lengths": [1, 1, 1]})
    trainer = _trainer(config, tmp_path)
    trained = [{k for k, v in trainer.train_step(i).loss.items() if v is not None}
               for i in range(3)]
    assert trained == [{"task1"}, {"task1", "task2"}, {"task1", "task2", "task3"}]


def test_checkpoint_round_trip_restores_everything(tiny_config, tmp_path):
    config = tiny_config()
    trainer = _trainer(config, tmp_path)
    for i in range(3):
        trainer.train_step(i)
    trainer.state.iteration = 3
    trainer.save_checkpoint()
    fresh = _trainer(config, tmp_path)
    loaded = ckpt.load_latest(tmp_path)
    assert loaded is not None and loaded.iteration == 3
    fresh.resume(loaded)
    for k, v in _params(trainer.model).items():
        assert torch.equal(v, fresh.model.state_dict()[k]), k
    a, b = trainer.optimizer.state_dict(), fresh.optimizer.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for index, values in a["state"].items():
        assert torch.equal(values["momentum_buffer"], b["state"][index]["momentum_buffer"])
    assert torch.equal(torch.get_rng_state(), loaded.rng_tensors["rng.torch"])


def test_damaged_newest_checkpoint_falls_back_to_the_one_before(tiny_config, tmp_path):
    config = tiny_config()
    trainer = _trainer(config, tmp_path)
    for it in (2, 4, 6):
        trainer.state.iteration = it
        trainer.save_checkpoint()
    names = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert names == ["iter-00000004.safetensors", "iter-00000006.safetensors"]  # keeps two
    newest = ckpt.checkpoint_path(tmp_path, 6)
    data = bytearray(newest.read_bytes())
    data[-100] ^= 0xFF  # flip bits inside the tensor data
    newest.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match="checksum"):
        ckpt.read_checkpoint(newest)
    assert ckpt.load_latest(tmp_path).iteration == 4
    newest.write_bytes(b"\x00" * 10)  # truncated
    assert ckpt.load_latest(tmp_path).iteration == 4


def test_in_process_resume_equals_an_uninterrupted_run(tiny_config, tmp_path):
    config = tiny_config()  # 8 iterations, checkpoint every 4
    straight = _trainer(config, tmp_path / "a")
    straight.fit()
    first = _trainer(config, tmp_path / "b")
    for i in range(4):  # the first half, then "crash" after its checkpoint
        first.train_step(i)
        first.state.iteration = i + 1
    first.save_checkpoint()
    torch.manual_seed(123)  # a resumed process starts with other global RNG states
    resumed = _trainer(config, tmp_path / "b")
    resumed.resume(ckpt.load_latest(tmp_path / "b"))
    resumed.fit()
    for k, v in _params(straight.model).items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def test_stop_request_checkpoints_then_cancels(tiny_config, tmp_path):
    stop = threading.Event()
    config = tiny_config(run={"checkpoint_every": 1000})
    trainer = _trainer(config, tmp_path, stop=stop)
    original = trainer.train_step

    def step_then_stop(i):
        if i == 2:
            stop.set()
        return original(i)

    trainer.train_step = step_then_stop
    with pytest.raises(Cancelled, match="--resume"):
        trainer.fit()
    assert ckpt.load_latest(tmp_path).iteration == 3


def test_validation_keeps_the_best_network(tiny_config, tmp_path):
    scores = iter([0.5, 0.2])
    config = tiny_config()  # validates after 4 and 8 iterations

    def validator(model):
        assert not model.training
        value = next(scores)
        return {"whole": value, "core": value, "enhancing": value}

    trainer = _trainer(config, tmp_path, validator=validator)
    state = trainer.fit()
    assert state.best_iteration == 4 and state.best_dice["whole"] == 0.5
    assert state.last_dice["whole"] == 0.2
    best = ckpt.read_checkpoint(tmp_path / "best.safetensors")
    assert best.iteration == 4


def test_region_dice_on_hand_made_maps():
    from omnet.training.validation import make_validator, region_dice

    reference = np.zeros((2, 4, 4), np.uint8)
    reference[0, :2, :2] = 3  # 4 enhancing voxels
    reference[1, :2, :2] = 1  # 4 necrotic voxels
    predicted = np.zeros_like(reference)
    predicted[0, :2, :2] = 3
    predicted[1, :2, :2] = 2  # tumour, but edema instead of core
    dice = region_dice(predicted, reference)
    assert dice == {"whole": 1.0, "core": pytest.approx(2 * 4 / (4 + 8)), "enhancing": 1.0}
    case = memory_case()
    perfect = make_validator([case], lambda model, images: np.where(
        np.isin(case.classes, (1, 2, 3)), case.classes, 0))
    assert perfect(None) == {"whole": 1.0, "core": 1.0, "enhancing": 1.0}


def test_bfloat16_autocast_trains_on_cpu(tiny_config, tmp_path):
    config = tiny_config(schedule={"stage_lengths": [0, 0, 2]})
    torch.manual_seed(0)
    trainer = Trainer(config, make_plan(config, 2), build_model(config.model), _cases(),
                      device=CPU, precision=Precision(torch.bfloat16, False),
                      checkpoint_dir=tmp_path)
    before = _params(trainer.model)
    record = trainer.train_step(0)
    assert all(np.isfinite(v) for v in record.loss.values())
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    assert any(not torch.equal(v, trainer.model.state_dict()[k]) for k, v in before.items())
