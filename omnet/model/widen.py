"""Widen a trained OM-Net to more channels without changing what it computes (Net2WiderNet).

Chen, Goodfellow and Shlens (ICLR 2016): every channel is copied and the weights that read
it are halved, so the wider network starts as the narrower one's function and fine-tuning
begins from a trained model instead of from scratch (a CPU cannot train the paper's width
32 from nothing). Small noise on the copies' incoming weights lets them drift apart.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from omnet.errors import ModelConfigError
from omnet.model import build_model
from omnet.model.cga import CrossTaskGuidedAttention
from omnet.model.networks import OMNet

__all__ = ["widen_network"]


def _widened(name: str, old: torch.Tensor, new_shape: torch.Size, transposed: bool,
             factor: float) -> torch.Tensor:
    """``old`` with each doubled axis repeated; axes that read the channels scaled."""
    tensor = old.clone()
    reading_axis = 0 if transposed else 1
    for axis, (before, after) in enumerate(zip(old.shape, new_shape)):
        if after == before:
            continue
        if after != 2 * before:
            raise ModelConfigError(f"{name}: cannot widen axis {axis} from {before} to {after}")
        tensor = torch.cat([tensor, tensor], dim=axis)
        if tensor.dim() > 1 and axis == reading_axis:
            tensor = tensor * factor
    return tensor


def widen_network(network: nn.Module, noise: float = 0.01,
                  generator: torch.Generator | None = None) -> OMNet:
    """An OM-Net of twice ``network``'s width computing the same function (``noise`` = 0)
    or nearly so: ``noise`` x each weight tensor's standard deviation is added to the
    copies' incoming weights.

    Raises:
        ModelConfigError: ``network`` is not a single OM-Net (an ensemble or a cascade).
    """
    if not isinstance(network, OMNet):
        raise ModelConfigError("only a single OM-Net network can be widened; take one "
                               "member out of an ensemble first (tools/ensemble_member.py)")
    config = dataclasses.replace(network.config, width=2 * network.config.width)
    wide = build_model(config).to(next(network.parameters()).dtype)
    transposed = {name for name, m in wide.named_modules() if isinstance(m, nn.ConvTranspose3d)}
    cga_paths = {f"{name}.{path}" for name, m in wide.named_modules()
                 if isinstance(m, CrossTaskGuidedAttention)
                 for path in ("tumour_path", "nontumour_path")}
    old_state = network.state_dict()
    state = {}
    for name, target in wide.state_dict().items():
        old = old_state[name]
        if not target.is_floating_point():
            state[name] = old.clone()
            continue
        module = name.rsplit(".", 1)[0]
        # The copies of a channel each carry half of what read it, except in a CGA pathway,
        # whose L1-normalised channel importance already halves over twice the channels.
        tensor = _widened(name, old, target.shape, module in transposed,
                          1.0 if module in cga_paths else 0.5)
        if noise and name.endswith("weight") and target.dim() > 1:
            axis = 1 if module in transposed else 0
            half = old.shape[axis]
            if target.shape[axis] == 2 * half:   # the copies of the channels it writes
                copy = tensor.narrow(axis, half, half)
                copy.add_(torch.randn(copy.shape, generator=generator, dtype=copy.dtype) * noise
                          * old.std())
        state[name] = tensor.to(target.dtype)
    wide.load_state_dict(state)
    return wide.eval()
