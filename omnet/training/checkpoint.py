"""Training checkpoints: one safetensors file each, no pickle, written atomically.

A checkpoint holds the network's state, the optimiser's tensors (``optim.<index>.<name>``),
the torch RNG states, and a JSON document in the header with everything else: iteration,
curriculum stage, optimiser hyper-parameters, AMP scaler, Python/numpy RNG states, sampler
state, best validation so far and a checksum of the tensors. The last ``keep`` checkpoints
are kept; a damaged newest one falls back to the one before.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from omnet.model.weights import tensors_sha256
from omnet.utils.atomic import atomic_path

__all__ = ["CHECKPOINT_FORMAT", "Checkpoint", "CheckpointError", "checkpoint_path",
           "list_checkpoints", "load_latest", "prune_checkpoints", "read_checkpoint",
           "restore_training_state", "write_checkpoint"]

log = logging.getLogger(__name__)
CHECKPOINT_FORMAT = "omnet-checkpoint/1"
_STATE_KEY = "omnet_checkpoint"
_NAME = re.compile(r"^iter-(\d+)\.safetensors$")


class CheckpointError(Exception):
    """A checkpoint file is unreadable, damaged or not ours."""


@dataclass
class Checkpoint:
    """What a checkpoint file holds, split back into its parts."""

    path: Path
    state: dict[str, Any]
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any] | None
    rng_tensors: dict[str, torch.Tensor]

    @property
    def iteration(self) -> int:
        return int(self.state["iteration"])


def checkpoint_path(folder: Path, iteration: int) -> Path:
    return Path(folder) / f"iter-{iteration:08d}.safetensors"


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Split an optimiser state dict into tensors and JSON-able data."""
    sd = optimizer.state_dict()
    tensors, plain = {}, {}
    for index, values in sd["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value.detach().cpu().contiguous().clone()
            else:
                plain.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "state": plain}


def write_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                     state: dict[str, Any], rng_tensors: dict[str, torch.Tensor]) -> None:
    """Write one checkpoint file atomically (a kill leaves the previous files intact)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous().clone()
               for k, v in model.state_dict().items()}
    document = dict(state, format=CHECKPOINT_FORMAT)
    if optimizer is not None:
        optim_tensors, document["optimizer"] = _optimizer_tensors(optimizer)
        tensors.update(optim_tensors)
    tensors.update({k: v.detach().cpu().contiguous() for k, v in rng_tensors.items()})
    document["tensors_sha256"] = tensors_sha256(tensors)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={_STATE_KEY: json.dumps(document)})


def read_checkpoint(path: Path) -> Checkpoint:
    """Read and verify one checkpoint; raise :class:`CheckpointError` if it is damaged."""
    path = Path(path)
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        tensors = load_file(str(path))
        state = json.loads(metadata[_STATE_KEY])
    except (SafetensorError, OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path.name}: unreadable ({exc})") from None
    if state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path.name}: not an OMNet training checkpoint")
    if tensors_sha256(tensors) != state.get("tensors_sha256"):
        raise CheckpointError(f"{path.name}: tensors do not match their checksum")
    model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    rng = {k: v for k, v in tensors.items() if k.startswith("rng.")}
    optimizer = None
    if "optimizer" in state:
        per_param: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                per_param.setdefault(int(index), {})[name] = value
        for index, values in state["optimizer"]["state"].items():
            per_param.setdefault(int(index), {}).update(values)
        optimizer = {"state": per_param, "param_groups": state["optimizer"]["param_groups"]}
    return Checkpoint(path=path, state=state, model=model, optimizer=optimizer,
                      rng_tensors=rng)


def restore_training_state(checkpoint: Checkpoint, model: nn.Module,
                           optimizer: torch.optim.Optimizer | None) -> None:
    """Load the network's and the optimiser's state from a checkpoint (in place)."""
    device = next(model.parameters()).device
    model.load_state_dict(checkpoint.model)
    model.to(device)
    if optimizer is not None and checkpoint.optimizer is not None:
        optimizer.load_state_dict(checkpoint.optimizer)


def list_checkpoints(folder: Path) -> list[Path]:
    """Periodic checkpoints in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def load_latest(folder: Path) -> Checkpoint | None:
    """The newest readable checkpoint, falling back over damaged ones (with a warning)."""
    found = list_checkpoints(folder)
    for older, path in reversed(list(enumerate(found))):
        try:
            return read_checkpoint(path)
        except CheckpointError as exc:
            log.warning("%s; %s", exc, "falling back to the checkpoint before it" if older
                        else "no older checkpoint")
    return None


def prune_checkpoints(folder: Path, keep: int = 2) -> None:
    """Delete all but the newest ``keep`` periodic checkpoints, and the half-written files
    a killed run may have left behind."""
    for path in list_checkpoints(folder)[:-keep]:
        path.unlink(missing_ok=True)
    for partial in Path(folder).glob(".*.partial-*"):
        partial.unlink(missing_ok=True)
