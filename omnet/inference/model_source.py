"""Which network to run: a model file, a loaded model, a module, or the bundled default."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from omnet.errors import ModelFileError

if TYPE_CHECKING:
    from omnet.model.weights import LoadedModel

__all__ = ["ModelSource", "first_network", "load_for_segment", "resolve_model",
           "thick_slice_network"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ModelSource:
    """The network and what the report says about it (file models have a path and sha256)."""

    module: nn.Module
    name: str
    variant: str | None
    width: int
    path: Path | None = None
    sha256: str | None = None
    #: The voxel spacing (mm, x y z) the network was trained on: its card's, else BraTS 1 mm.
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    #: Networks whose probabilities are averaged (an ensemble), else 1.
    members: int = 1
    #: True for an ensemble's thick-slice members (input of four thick-slice series).
    thick_slice_members: bool = False

    def describe(self) -> dict:
        return {"name": self.name, "variant": self.variant, "width": self.width,
                "members": self.members, "thick_slice_members": self.thick_slice_members,
                "path": str(self.path) if self.path else None, "sha256": self.sha256}


def first_network(source: ModelSource) -> ModelSource:
    """An ensemble's first network as a source of its own; any other source as it is.

    The second pass on thick input (the resolution-matched volume, or four thick series
    alike) that bounds the whole tumour runs the first network only: in the bundled
    ensemble it is the one trained with thick-slice and blur augmentation, and the other
    one, never shown such input, over-segments there.
    """
    from omnet.model.ensemble import first_member

    network = first_member(source.module)
    if network is source.module:
        return source
    return dataclasses.replace(source, module=network, members=1,
                               name=f"{source.name} (first network)")


def thick_slice_network(source: ModelSource) -> ModelSource:
    """The members of an ensemble that run on input whose four sequences all have thick
    slices (``ModelConfig.member_inputs``: its thick-slice specialist in place of the member
    never shown such input); any other source as it is."""
    choose = getattr(source.module, "for_input", None)
    network = choose(thick=True) if choose is not None else source.module
    if network is source.module:
        return source
    count = int(getattr(network.config, "members", 1))
    return dataclasses.replace(source, module=network, members=count, thick_slice_members=True,
                               name=f"{source.name} (thick-slice members)")


def _from_module(module: nn.Module) -> ModelSource:
    config = getattr(module, "config", None)
    variant = getattr(config, "variant", None)
    width = int(getattr(config, "width", 32))
    members = int(getattr(config, "members", 1))
    name = f"in-memory {variant or type(module).__name__}"
    return ModelSource(module, name, variant, width, members=members)


def _model_file(model: str | os.PathLike | None, device: torch.device) -> Path:
    """``model`` as a path; None: the bundled model for this kind of device."""
    if model is None:
        from omnet.bundled import default_model_path

        model = default_model_path(device.type)
        log.info("using the bundled model %s", Path(model).name)
    if not isinstance(model, (str, os.PathLike)):
        raise ModelFileError(f"cannot use a {type(model).__name__} as a model")
    return Path(model)


def load_for_segment(model: str | os.PathLike | None = None,
                     device: str = "auto") -> LoadedModel:
    """Load a model file once, for ``omnet.segment(..., model=loaded)`` on many cases.

    A path or None given to ``segment`` is read, checked (sha256) and built again on every
    call; the returned :class:`omnet.model.weights.LoadedModel` is used as it is.

    Args:
        model: a ``.safetensors`` path, or None for the bundled model ``segment`` would pick
            on ``device`` (a GPU's model differs from the CPU's when several are bundled).
        device: auto, cpu, cuda or mps: where the network is placed.

    Raises:
        ModelFileError: no bundled model, or a file that is not an OMNet model.
        OMNetError: an unknown or unavailable device.
    """
    from omnet.inference.device import select_device
    from omnet.model.weights import load_model

    torch_device = select_device(device)
    loaded = load_model(_model_file(model, torch_device), "cpu")
    loaded.model.to(torch_device)
    return loaded


def resolve_model(model: object, device: torch.device) -> ModelSource:
    """Load or wrap ``model`` and place it on ``device``.

    Args:
        model: None (the bundled model for this kind of device), a path to an OMNet
            ``.safetensors`` file, a :class:`omnet.model.weights.LoadedModel` (see
            :func:`load_for_segment`), or an ``nn.Module`` whose forward returns the three
            tasks' logits.

    Raises:
        ModelFileError: no bundled model, or a file that is not an OMNet model.
    """
    from omnet.model.weights import LoadedModel, load_model

    if isinstance(model, nn.Module):
        source = _from_module(model)
    else:
        if not isinstance(model, LoadedModel):
            model = load_model(_model_file(model, device), "cpu")
        source = _from_module(model.model)
        source.name, source.path, source.sha256 = model.card.name, model.path, model.file_sha256
        source.spacing = tuple(model.card.voxel_spacing)
    source.module.to(device)
    return source
