"""Combine independently trained networks into one ensemble model file.

An ensemble is one safetensors file with one card (``model.members`` > 1), so everything
that loads, checks, lists or runs a model treats it like any other. The members must be
the same network (variant, width, inputs) trained on the same cases: their figures on the
held-out split stay honest only if none of them saw those cases.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from torch import nn

from omnet.card import ModelCard
from omnet.errors import ModelConfigError
from omnet.model import build_model
from omnet.model.networks import Ensemble
from omnet.model.weights import LoadedModel

__all__ = ["combine_models", "first_member", "member_model"]


def _same_split(members: Sequence[LoadedModel]) -> dict:
    """The members' common training data record; refuses members trained on other cases."""
    records = [m.card.training.get("data", {}) for m in members]
    for key in ("train_cases", "validation_cases"):
        found = [sorted(r.get(key, [])) for r in records]
        if any(f != found[0] for f in found[1:]):
            raise ModelConfigError(f"the members were not trained on the same split ({key} "
                                   "differ); their held-out figures would not be honest")
    return records[0]


#: Card fields every member must share: the ensemble's card keeps the first member's, and
#: inference resamples every input to that spacing for all members alike.
_SHARED_INPUTS = ("voxel_spacing", "modalities", "normalization", "output_labels")


def _same_inputs(members: Sequence[LoadedModel]) -> None:
    """Refuses members trained on other input (voxel spacing, sequences, normalisation)."""
    first = members[0].card
    for member in members[1:]:
        for key in _SHARED_INPUTS:
            if getattr(member.card, key) != getattr(first, key):
                raise ModelConfigError(
                    f"the members were trained on different input ({key}: {member.card.name} "
                    f"has {getattr(member.card, key)}, {first.name} {getattr(first, key)}); "
                    "an ensemble runs them all on one")


def combine_models(members: Sequence[LoadedModel], name: str, description: str = "",
                   member_inputs: Sequence[str] = ()) -> tuple[Ensemble, ModelCard]:
    """An ensemble network holding ``members``' weights, and its card; ``member_inputs``
    says which input each member runs on (``ModelConfig.member_inputs``; empty: all).

    Raises:
        ModelConfigError: fewer than two members, members of different networks, members
            that are ensembles themselves, or members trained on different splits or on
            input of another voxel spacing.
    """
    if len(members) < 2:
        raise ModelConfigError("an ensemble needs at least two models")
    configs = [m.card.model for m in members]
    if any(c.members > 1 for c in configs):
        raise ModelConfigError("a member is an ensemble itself; combine single networks")
    for member, config in zip(members[1:], configs[1:]):
        differ = [f"{f.name} {getattr(config, f.name)} against {getattr(configs[0], f.name)}"
                  for f in dataclasses.fields(config)
                  if getattr(config, f.name) != getattr(configs[0], f.name)]
        if differ:
            raise ModelConfigError(f"the members are different networks ({member.card.name}: "
                                   f"{'; '.join(differ)})")
    _same_inputs(members)
    data = _same_split(members)
    config = dataclasses.replace(configs[0], members=len(members),
                                 member_inputs=tuple(member_inputs))
    ensemble = build_model(config)
    for target, member in zip(ensemble.members, members):
        target.load_state_dict(member.model.state_dict())
    ensemble.eval()
    first = members[0].card
    training = {"data": data, "ensemble_of": [
        {"name": m.card.name, "file_sha256": m.file_sha256,
         "tensors_sha256": m.card.tensors_sha256, "training": m.card.training}
        for m in members]}
    card = dataclasses.replace(
        first, name=name, model=config, training=training, metrics={},
        description=description or (
            f"ensemble of {len(members)} {config.variant} networks (width {config.width}); "
            "task probabilities averaged" + (
                f" over the members for the input ({', '.join(config.member_inputs)})"
                if config.member_inputs else "")),
        tensors_sha256="", omnet_version="")
    return ensemble, card


def first_member(model: nn.Module) -> nn.Module:
    """An ensemble's first network (its ``config`` has ``members`` 1); any other network as
    it is. Fine-tuning and thick input's second pass start from one network."""
    return model.members[0] if isinstance(model, Ensemble) else model


def member_model(loaded: LoadedModel, index: int) -> tuple[nn.Module, ModelCard]:
    """Member ``index`` of an ensemble file as a single network and its own card, which
    records where it came from (``training["member_of"]``): a network fine-tuned from it
    is then compared with its recipe twin by that position, not by a file's checksum.

    Raises:
        ModelConfigError: the file is not an ensemble, or has no such member.
    """
    config = loaded.card.model
    if config.members < 2 or not 0 <= index < config.members:
        raise ModelConfigError(f"{loaded.card.name} has no member {index + 1} "
                               f"(it has {config.members} network(s))")
    record = loaded.card.training["ensemble_of"][index]
    training = {**record["training"], "member_of": {
        "name": loaded.card.name, "file_sha256": loaded.file_sha256, "member": index}}
    card = dataclasses.replace(loaded.card, name=record["name"], training=training,
                               model=dataclasses.replace(config, members=1, member_inputs=()),
                               metrics={}, tensors_sha256="", omnet_version="")
    return loaded.model.members[index], card
