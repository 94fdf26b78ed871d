"""DistributedDataParallel on CPU: two gloo processes draw different patches, yet end with
identical networks (their gradients are averaged); only rank 0 validates and writes
checkpoints, and the ranks never wait for each other in vain."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp
from conftest import TINY, memory_case

from omnet.model import build_model
from omnet.training.config import apply_overrides, preset_config
from omnet.training.distributed import init_distributed, shutdown
from omnet.training.runtime import Precision
from omnet.training.schedule import make_plan
from omnet.training.trainer import Trainer

ITERATIONS = 4


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    info = init_distributed("cpu", timeout_minutes=2)  # a deadlock fails instead of hanging
    config = apply_overrides(apply_overrides(preset_config("quick"), TINY), {
        "schedule": {"stage_lengths": [1, 1, ITERATIONS - 2]},
        "run": {"checkpoint_every": 2, "validate_every": 2}}).validate()
    calls = Path(out) / f"validated_by_rank{rank}.txt"

    def validator(model):  # every rank has one; only rank 0 may run it
        with open(calls, "a") as f:
            f.write("x")
        return {"whole": 0.5, "core": 0.5, "enhancing": 0.5}

    torch.manual_seed(config.run.seed)
    model = build_model(config.model)
    cases = [memory_case("a", 1), memory_case("b", 2, centre=(10, 18, 22))]
    trainer = Trainer(config, make_plan(config, 2), model, cases, device=torch.device("cpu"),
                      precision=Precision(None, False), checkpoint_dir=Path(out) / "ckpt",
                      validator=validator, dist=info)
    origins = []
    original = trainer.train_step

    def recording_step(i):
        from omnet.training.randomness import iteration_generator
        from omnet.training.sampling import sample_batch
        from omnet.training.schedule import active_tasks

        rng = iteration_generator(config.run.seed, i, info.rank)
        batch = sample_batch(cases, active_tasks(trainer.plan, i), trainer.per_rank,
                             config.sampling.patch_size, rng, config.augment)
        origins.append([[c, list(p)] for c, p in batch.origins])
        return original(i)

    trainer.train_step = recording_step
    trainer.fit()
    # learnable parameters: BatchNorm running statistics are each rank's own until DDP
    # broadcasts rank 0's at the next forward pass, and only rank 0's are saved
    torch.save({k: v.detach().clone() for k, v in model.named_parameters()},
               Path(out) / f"rank{rank}.pt")
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(origins))
    shutdown(info)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_cpu_processes_train_one_network(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    torch.manual_seed(0)
    initial = dict(build_model(apply_overrides(preset_config("quick"), TINY).model)
                   .named_parameters())
    assert sum(not torch.equal(initial[k], a[k]) for k in a) > len(a) // 2
    origins0 = json.loads((tmp_path / "rank0.json").read_text())
    origins1 = json.loads((tmp_path / "rank1.json").read_text())
    assert len(origins0) == ITERATIONS and origins0 != origins1
    assert len(origins0[0]) == 1  # 2 patches per task shared by 2 ranks: 1 each
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert names == ["best.safetensors", "iter-00000002.safetensors",
                     "iter-00000004.safetensors"]
    assert (tmp_path / "validated_by_rank0.txt").read_text() == "xx"
    assert not (tmp_path / "validated_by_rank1.txt").exists()
