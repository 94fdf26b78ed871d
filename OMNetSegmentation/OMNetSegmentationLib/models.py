"""Which models the user can pick, and the list of models trained in OMNetTraining (pure).

The list of trained models is a JSON array of paths stored in the user's settings
(``qt.QSettings`` key :data:`TRAINED_MODELS_KEY`); OMNetTraining adds to it with "Use this
model" and OMNetSegmentation reads it. Cards are read without torch
(:func:`omnet.card.read_card`), so listing models is instant.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from omnet.card import ModelCard, read_card
from omnet.errors import ModelFileError

__all__ = ["TRAINED_MODELS_KEY", "ModelChoice", "add_trained_model", "describe_card",
           "model_choices", "parse_trained_models", "serialize_trained_models"]

TRAINED_MODELS_KEY = "OMNet/TrainedModels"
MAX_TRAINED_MODELS = 20


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model selector; ``path`` empty means "bundled default"."""

    title: str
    path: str
    source: str  # "default", "bundled", "trained" or "file"
    description: str = ""


def _region_order(region: str) -> int:
    """BraTS reading order: whole tumour, core, enhancing, then anything else."""
    order = ("whole", "core", "enhancing")
    return order.index(region) if region in order else len(order)


def _held_out_dice(metrics: dict) -> str:
    """"held-out Dice ..." from a bundled card's figures on cases its networks never saw
    (its own split's, or its recipe twin's for a model retrained on every case)."""
    for key, label in (("heldout", "held-out"), ("recipe_heldout", "held-out (recipe twin)")):
        mean = metrics.get(key, {}).get("postprocessed", {}).get("mean", {})
        if isinstance(mean, dict) and mean:
            return f"{label} Dice " + ", ".join(
                f"{region} {float(value['dice']):.2f}"
                for region, value in sorted(mean.items(), key=lambda item: _region_order(item[0]))
                if isinstance(value, dict) and isinstance(value.get("dice"), (int, float)))
    return ""


def describe_card(card: ModelCard) -> str:
    """A one-line summary for tooltips: variant, width, validation Dice when known."""
    parts = [f"{card.model.variant}, width {card.model.width}"
             + (f", {card.model.ensemble_text()}" if card.model.members > 1 else "")]
    metrics = card.metrics if isinstance(card.metrics, dict) else {}
    dice = metrics.get("dice")
    held_out = _held_out_dice(metrics)
    if isinstance(dice, dict) and dice:
        parts.append("Dice " + ", ".join(f"{region} {float(value):.2f}"
                                         for region, value in dice.items()
                                         if isinstance(value, (int, float))))
    elif held_out:
        parts.append(held_out)
    if card.description:
        parts.append(card.description)
    return "; ".join(parts)


def parse_trained_models(text: str | None) -> list[str]:
    """Paths stored in the settings value; anything unreadable is an empty list."""
    try:
        data = json.loads(text or "[]")
    except (TypeError, json.JSONDecodeError):
        return []
    return [item for item in data if isinstance(item, str)] if isinstance(data, list) else []


def serialize_trained_models(paths: Iterable[str]) -> str:
    return json.dumps(list(paths))


def add_trained_model(paths: Sequence[str], new: str | os.PathLike) -> list[str]:
    """``new`` first, without duplicates, keeping at most :data:`MAX_TRAINED_MODELS`."""
    new_path = str(Path(new).resolve())
    rest = [path for path in paths if str(Path(path).resolve()) != new_path]
    return [new_path, *rest][:MAX_TRAINED_MODELS]


def _readable(path: str, reader: Callable[[str], ModelCard]) -> ModelCard | None:
    try:
        return reader(path)
    except (ModelFileError, OSError, ValueError):
        return None


def model_choices(bundled: Sequence[tuple[Path, ModelCard]], trained: Sequence[str],
                  files: Sequence[str] = (),
                  reader: Callable[[str], ModelCard] = read_card) -> list[ModelChoice]:
    """Default first, then bundled, trained and loaded models; unreadable files left out."""
    choices = [ModelChoice("Bundled model (best for the device)", "", "default",
                           "the bundled model for a GPU, or the smaller one on a CPU")]
    seen: set[str] = set()
    for path, card in bundled:
        seen.add(str(Path(path).resolve()))
        choices.append(ModelChoice(f"{card.name} (bundled)", str(path), "bundled",
                                   describe_card(card)))
    for source, paths in (("trained", trained), ("file", files)):
        for path in paths:
            key = str(Path(path).resolve())
            card = None if key in seen else _readable(path, reader)
            if card is not None:
                seen.add(key)
                choices.append(ModelChoice(f"{card.name} ({source}: {Path(path).name})",
                                           str(path), source, describe_card(card)))
    return choices
