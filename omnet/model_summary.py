"""What a user needs to choose a model, read from its card (torch-free).

``omnet models --info FILE`` prints this for any model file (bundled, trained with
``omnet train``, or downloaded): the network, the input it expects, the data and recipe it
was trained with, its figures on cases it never saw, and the file's checksum, as nnU-Net's
``plans``/``dataset.json`` and MONAI bundles' ``metadata.json`` expose theirs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omnet.card import ModelCard
from omnet.data.naming import SHORT_TITLES
from omnet.registry import get_variant
from omnet.utils.plural import counted

__all__ = ["INTENDED_USE", "ModelSummary", "summarize_card", "summary_lines"]

#: What every OMNet model is for; cards carry no use statement of their own.
INTENDED_USE = "research only, not for clinical use"
#: The licence of the OMNet code that made and runs the weights (cards record none).
CODE_LICENCE = "Apache-2.0 (OMNet code; the card records no licence of its own)"
_REGIONS = ("whole", "core", "enhancing")


@dataclass(frozen=True)
class ModelSummary:
    """A model card reduced to what tells models apart, plus the file's checksum."""

    name: str
    path: str
    file_sha256: str
    network: str
    inputs: str
    voxel_spacing_mm: list[float]
    outputs: str
    training: list[str] = field(default_factory=list)
    figures: str = ""
    version: str = ""
    storage: str = ""
    description: str = ""
    intended_use: str = INTENDED_USE
    licence: str = CODE_LICENCE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _network(card: ModelCard) -> str:
    config = card.model
    text = f"{config.variant} ({get_variant(config.variant).title}), width {config.width}"
    return text + (f", {config.ensemble_text()}" if config.members > 1 else "")


def _map(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else empty: a card's training and metrics records
    are free-form, so a part of another shape is shown as unrecorded, not a traceback."""
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int | str:
    """How many cases a record lists ("?" when it is no list or map)."""
    return len(value) if isinstance(value, (list, dict)) else "?"


def _recipe(record: Any) -> str:
    """One network's training in a line: preset, iterations, cases, start weights."""
    record = _map(record)
    data = _map(record.get("data"))
    parts = [f"preset {record.get('preset', '?')}",
             counted(record.get("iterations", "?"), "iteration"),
             counted(_count(data.get("train_cases", [])), "training case"),
             counted(_count(data.get("validation_cases", [])), "validation case")]
    start = record.get("initialised_from")
    if isinstance(start, dict):
        parts.append(f"fine-tuned from {start.get('name', '?')}")
    return ", ".join(parts)


def _training(card: ModelCard) -> list[str]:
    members = card.training.get("ensemble_of")
    if isinstance(members, list) and members:
        return [f"network {i + 1} ({m.get('name', '?')}): {_recipe(m.get('training'))}"
                for i, m in enumerate(members) if isinstance(m, dict)]
    return [_recipe(card.training)] if card.training else []


def _dice(mean: dict[str, Any]) -> str:
    return ", ".join(f"{region} {float(mean[region]['dice']):.3f}" for region in _REGIONS
                     if isinstance(mean.get(region), dict)
                     and isinstance(mean[region].get("dice"), (int, float)))


def _figures(card: ModelCard) -> str:
    """Held-out Dice (post-processed mean) where the card has it, else the training run's
    validation Dice, saying which."""
    metrics = card.metrics
    for key, label in (("heldout", "held-out"), ("recipe_heldout", "held-out, recipe twin")):
        figures = metrics.get(key)
        if isinstance(figures, dict):
            post = _map(figures.get("postprocessed"))
            text = _dice(_map(post.get("mean")))
            if text:
                return f"Dice {text} ({label}, {counted(_count(post.get('cases') or {}), 'case')})"
    dice = metrics.get("validation_dice")
    if isinstance(dice, dict) and dice:
        text = ", ".join(f"{r} {float(dice[r]):.3f}" for r in _REGIONS
                         if isinstance(dice.get(r), (int, float)))
        cases = counted(metrics.get("validation_cases", "?"), "case")
        return (f"Dice {text} (training validation, {cases}, iteration "
                f"{metrics.get('validation_iteration', '?')})")
    return "none recorded"


def summarize_card(card: ModelCard, path: str | Path, file_sha256: str) -> ModelSummary:
    """The summary of ``card``, read from the file at ``path`` whose sha256 is given."""
    labels = card.output_labels
    return ModelSummary(
        name=card.name, path=str(path), file_sha256=file_sha256, network=_network(card),
        inputs=", ".join(SHORT_TITLES.get(m, m) for m in card.modalities)
        + f"; {card.normalization.get('method', '?')} per sequence over the brain",
        voxel_spacing_mm=list(card.voxel_spacing),
        outputs=", ".join(f"{labels[k]} {k}" for k in ("necrotic", "edema", "enhancing")
                          if k in labels),
        training=_training(card), figures=_figures(card), version=card.omnet_version,
        storage=card.storage_dtype, description=card.description)


def summary_lines(summary: ModelSummary) -> list[str]:
    """``summary`` as aligned ``label: value`` lines for a terminal."""
    spacing = " x ".join(f"{v:g}" for v in summary.voxel_spacing_mm)
    rows = [("model", summary.name), ("file", summary.path), ("sha256", summary.file_sha256),
            ("network", summary.network), ("inputs", summary.inputs),
            ("voxel spacing", f"{spacing} mm (inputs are resampled to it)"),
            ("output labels", summary.outputs)]
    rows += [("trained", line) for line in summary.training] or [("trained", "not recorded")]
    rows += [("figures", summary.figures), ("omnet version", summary.version or "?"),
             ("stored as", summary.storage), ("description", summary.description),
             ("intended use", summary.intended_use), ("licence", summary.licence)]
    return [f"{label + ':':<15} {value}" for label, value in rows if value]
