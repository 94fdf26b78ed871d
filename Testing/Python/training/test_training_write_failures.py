"""A write of the run that fails part way (a full disk, simulated) is one line that says
what is kept, and ``--resume`` goes on from there once the space is back."""

from __future__ import annotations

import errno

import pytest
import torch
from safetensors import SafetensorError
from test_training_cli import TINY_ARGS

from omnet.cli import main
from omnet.model.weights import load_model
from omnet.training import checkpoint as ckpt
from omnet.training.monitor import CsvSink

NO_SPACE = "No space left on device"


def _metrics_disk_full(monkeypatch) -> None:
    """metrics.csv's row of iteration 4 (after the checkpoint of iteration 3) finds no space."""
    write = CsvSink._write

    def full(self, name, values):
        if name == "metrics.csv" and values[0] == 4:
            raise OSError(errno.ENOSPC, NO_SPACE)
        write(self, name, values)

    monkeypatch.setattr(CsvSink, "_write", full)


def _checkpoint_disk_full(monkeypatch) -> None:
    """The checkpoint of iteration 6 finds no space (safetensors' own error, as on a full
    disk: 'Error while serializing: I/O error: ...')."""
    save = ckpt.save_file

    def full(tensors, path, metadata=None):
        if ".iter-00000006." in path:
            raise SafetensorError(f"Error while serializing: I/O error: {NO_SPACE} "
                                  "(os error 28)")
        save(tensors, path, metadata=metadata)

    monkeypatch.setattr(ckpt, "save_file", full)


@pytest.mark.parametrize("disk_full", [_metrics_disk_full, _checkpoint_disk_full])
def test_a_full_disk_stops_the_run_in_one_line_and_resume_goes_on(
        synthetic_dataset, tmp_path, capsys, monkeypatch, disk_full):
    run = tmp_path / "run"
    argv = ["train", str(synthetic_dataset), "--out", str(run), "--cache",
            str(tmp_path / "cache"), "--progress-format", "none", "--iterations", "6",
            *TINY_ARGS]
    threads = torch.get_num_threads()
    with monkeypatch.context() as patch:
        disk_full(patch)
        code = main(argv)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("omnet:")]
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith("omnet: error: training stopped: ")
    assert NO_SPACE in lines[0]
    assert lines[0].endswith("its last checkpoint iter-00000003.safetensors is kept: fix that "
                             "(free space), then continue with --resume")
    assert [p.name for p in ckpt.list_checkpoints(run / "checkpoints")] == [
        "iter-00000003.safetensors"]
    assert main(["train", str(synthetic_dataset), "--out", str(run), "--cache",
                 str(tmp_path / "cache"), "--progress-format", "none", "--resume"]) == 0
    torch.set_num_threads(threads)
    assert load_model(run / "model.safetensors").card.training["iterations"] == 6


def test_a_full_disk_before_the_first_checkpoint_says_nothing_is_kept(
        synthetic_dataset, tmp_path, capsys, monkeypatch):
    def full(self, name, values):
        raise OSError(errno.ENOSPC, NO_SPACE)

    monkeypatch.setattr(CsvSink, "_write", full)
    run = tmp_path / "run"
    code = main(["train", str(synthetic_dataset), "--out", str(run), "--cache",
                 str(tmp_path / "cache"), "--progress-format", "none", *TINY_ARGS])
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("omnet:")]
    assert code == 2
    assert lines == [f"omnet: error: training stopped: {run}: {NO_SPACE}; it had written no "
                     "checkpoint, so nothing of it is kept"]
    assert not run.exists()
