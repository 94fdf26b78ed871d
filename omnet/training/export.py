"""Turn a training checkpoint into a model file for ``omnet segment --model``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnet.card import ModelCard
from omnet.model import build_model
from omnet.model.weights import save_model
from omnet.training.checkpoint import read_checkpoint
from omnet.training.config import TrainConfig

__all__ = ["export_checkpoint"]


def export_checkpoint(checkpoint: Path, config: TrainConfig, destination: Path,
                      training: dict[str, Any], metrics: dict[str, Any],
                      name: str | None = None, storage_dtype: str = "float32",
                      note: str = "") -> ModelCard:
    """Write ``destination`` (.safetensors + .json card) from a checkpoint's network.

    Args:
        training: what the card records about the data, split, settings and iterations.
        metrics: measured validation figures.
        note: a sentence added to the card's description (what a reader must know).
    """
    loaded = read_checkpoint(checkpoint)
    training = {**training, "checkpoint_iteration": loaded.iteration}
    model = build_model(config.model)
    model.load_state_dict(loaded.model)
    model.eval()
    variant = config.model.variant
    card = ModelCard(
        name=name or f"{variant}-w{config.model.width}",
        model=config.model,
        patch_size=list(config.sampling.patch_size),
        training=training,
        metrics=metrics,
        description=(f"{config.model.spec.title} (width {config.model.width}) trained with "
                     f"`omnet train` (preset {config.preset}); the network after "
                     f"{loaded.iteration} of {training.get('iterations', '?')} iterations."
                     + (f" {note}" if note else "")),
    )
    return save_model(model, card, destination, storage_dtype=storage_dtype)
