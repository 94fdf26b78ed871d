"""``omnet train`` end to end in child processes: a run killed with SIGKILL and resumed ends
in exactly the state of a run that went through in one go."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from omnet.model.weights import load_model
from omnet.training import checkpoint as ckpt

TOTAL = 20
ARGS = ["--preset", "quick", "--width", "4", "--patch-size", "8", "16", "16",
        "--patches-per-task", "2", "--stage-lengths", "4", "4", "12", "--val-fraction", "0",
        "--checkpoint-every", "4", "--checkpoint-minutes", "0", "--threads", "1",
        "--no-tensorboard", "--plot-every", "1000", "--seed", "3", "--progress-format", "none"]


def _command(data: Path, run: Path, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "omnet", "train", str(data), "--out", str(run),
            "--cache", str(cache), *ARGS, *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def _losses(run: Path) -> list[tuple[str, ...]]:
    with open(run / "metrics.csv", newline="") as f:
        return [(r["iteration"], r["loss_task1"], r["loss_task2"], r["loss_task3"])
                for r in csv.DictReader(f)]


def _kill_after_first_checkpoint(command: list[str], folder: Path) -> None:
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while not ckpt.list_checkpoints(folder):
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL


def test_resume_after_kill_equals_an_uninterrupted_run(synthetic_dataset, tmp_path):
    cache = tmp_path / "cache"
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    done = subprocess.run(_command(synthetic_dataset, straight, cache), env=_env(), check=True,
                          capture_output=True, text=True)
    assert "no validation case" in done.stderr  # --val-fraction 0: said, not silent
    _kill_after_first_checkpoint(_command(synthetic_dataset, broken, cache), broken / "checkpoints")
    assert not (broken / "model.safetensors").exists()
    resumed_from = ckpt.load_latest(broken / "checkpoints").iteration
    assert resumed_from < TOTAL
    again = subprocess.run(_command(synthetic_dataset, broken, cache),
                           env=_env(), capture_output=True, text=True)
    assert again.returncode == 2 and "--resume" in again.stderr  # refuses to overwrite
    subprocess.run(_command(synthetic_dataset, broken, cache, "--resume"), env=_env(),
                   check=True, capture_output=True)

    a = load_file(str(ckpt.checkpoint_path(straight / "checkpoints", TOTAL)))
    b = load_file(str(ckpt.checkpoint_path(broken / "checkpoints", TOTAL)))
    assert a.keys() == b.keys()
    assert any(k.startswith("optim.") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert _losses(straight) == _losses(broken)
    assert [int(r[0]) for r in _losses(broken)] == list(range(1, TOTAL + 1))
    model_a = load_model(straight / "model.safetensors").model.state_dict()
    model_b = load_model(broken / "model.safetensors").model.state_dict()
    assert all(torch.equal(model_a[k], model_b[k]) for k in model_a)


def test_sigterm_checkpoints_at_the_next_iteration_and_exits(synthetic_dataset, tmp_path):
    run = tmp_path / "run"
    command = _command(synthetic_dataset, run, tmp_path / "cache", "--iterations", "400")
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not ckpt.list_checkpoints(run / "checkpoints"):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143 and "--resume" in stderr  # 128 + SIGTERM
    stopped = ckpt.load_latest(run / "checkpoints").iteration
    assert 4 <= stopped < 400 and "or the iteration in progress" in stderr
    assert int(_losses(run)[-1][0]) == stopped  # checkpointed where it stopped, not before
    assert not (run / "model.safetensors").exists()
