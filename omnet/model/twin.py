"""Honest figures for a model trained on every case: its recipe twin's held-out figures.

A model retrained on all the development cases has no held-out case left to measure. Its
figures are those of a twin trained with the same recipe (settings and starting weights)
without the validation cases; the card keeps them under ``metrics["recipe_heldout"]`` with
the twin's checksum and split, never as the model's own ``heldout`` figures.
"""

from __future__ import annotations

from typing import Any

from omnet.card import ModelCard
from omnet.errors import ModelConfigError

__all__ = ["SPLIT_SETTINGS", "figures_from_twin", "never_seen_figures"]

#: Settings that say which cases validate, and the starting weights' path on the training
#: machine (their checksum is compared instead): a twin differs from the model only there.
SPLIT_SETTINGS = (("data", "val_cases"), ("data", "val_fraction"), ("optim", "init_from"))


def _networks(card: ModelCard) -> list[dict[str, Any]]:
    """Each network's training record (one for a single network, one per ensemble member)."""
    return [member["training"] for member in card.training.get("ensemble_of", [])] \
        or [card.training]


def _start(record: dict[str, Any]) -> Any:
    """What a network started from: the checksum of its starting weights, or, for a member
    fine-tuned from a member of its own recipe's ensemble (the model's from the model's,
    the twin's from the twin's), that member's position: the members themselves are
    compared recipe by recipe."""
    start = record.get("initialised_from", {})
    member_of = start.get("member_of")
    if member_of:
        return ("member", member_of.get("member"))
    return start.get("file_sha256")


def _recipe(record: dict[str, Any]) -> dict[str, Any]:
    """A network's settings without the split, plus what its starting weights were."""
    return {"settings": {(section, name): value
                         for section, values in record.get("settings", {}).items()
                         if isinstance(values, dict) for name, value in values.items()
                         if (section, name) not in SPLIT_SETTINGS},
            "initialised_from": _start(record),
            "iterations": record.get("iterations")}


def _same_recipe(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same start, length and settings; a setting that only one record holds (added to
    ``omnet train`` after the other was trained, so at its old behaviour) is not compared."""
    ra, rb = _recipe(a), _recipe(b)
    common = ra["settings"].keys() & rb["settings"].keys()
    return (ra["initialised_from"] == rb["initialised_from"]
            and ra["iterations"] == rb["iterations"]
            and all(ra["settings"][key] == rb["settings"][key] for key in common))


def figures_from_twin(trained: ModelCard, twin: ModelCard, twin_file_sha256: str) -> dict:
    """``metrics["recipe_heldout"]`` for ``trained`` from ``twin``'s held-out figures.

    Raises:
        ModelConfigError: ``trained`` still holds cases out, the twin has no held-out
            figures, the two were trained on different cases or with different recipes.
    """
    data, twin_data = trained.training.get("data", {}), twin.training.get("data", {})
    if data.get("validation_cases"):
        raise ModelConfigError("the model holds cases out; measure it on them instead")
    held_out = twin_data.get("validation_cases") or []
    if not held_out or "heldout" not in twin.metrics:
        raise ModelConfigError("the twin has no held-out figures")
    every_case = set(twin_data.get("train_cases", [])) | set(held_out)
    if set(data.get("train_cases", [])) != every_case:
        raise ModelConfigError("the model was not trained on exactly the twin's training and "
                               "held-out cases")
    mine, theirs = _networks(trained), _networks(twin)
    if len(mine) != len(theirs) or not all(map(_same_recipe, mine, theirs)):
        raise ModelConfigError("the model and the twin were trained with different recipes")
    return {**twin.metrics["heldout"],
            "twin": {"name": twin.name, "file_sha256": twin_file_sha256,
                     "tensors_sha256": twin.tensors_sha256,
                     "train_cases": sorted(twin_data.get("train_cases", [])),
                     "validation_cases": sorted(held_out)}}


def never_seen_figures(card: ModelCard) -> tuple[set[str], dict]:
    """The cases behind a card's figures and the figures; none of these cases trained the
    networks that were measured (the model's own held-out split, else its twin's)."""
    if "heldout" in card.metrics:
        return set(card.training["data"]["validation_cases"]), card.metrics["heldout"]
    if "recipe_heldout" in card.metrics:
        figures = card.metrics["recipe_heldout"]
        return set(figures["twin"]["validation_cases"]), figures
    raise ModelConfigError(f"{card.name}: the card records no held-out figures")
