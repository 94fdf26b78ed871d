"""An inference copy of a network: BatchNorm folded into the convolutions, sums computed in
place, feature maps freed as soon as they are used, the layout the kernels want. The
caller's module is never modified (it may be training elsewhere).

Folding is exact algebra on the eval-mode BatchNorm, y = (conv(x) - mean) / sqrt(var + eps)
* gamma + beta, so the copy computes the same function with one pass less over every
feature map. Residual and skip sums reuse the buffer of the branch just computed instead
of allocating a new full-resolution map, and the decoder drops each skip and upsampled map
right after use (instead of when the level returns): at full resolution that is two maps
fewer alive at the peak, about 1 GB for a whole brain in float32. ``channels_last_3d`` is
the layout oneDNN's (and cuDNN's) 3D convolutions run fastest in.
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import nn

from omnet.model.backbone import FusionBackbone
from omnet.model.blocks import DecoderLevel, ResidualBlock

__all__ = ["fold_batchnorm", "inference_copy", "sum_in_place"]

log = logging.getLogger(__name__)

_CONVS = (nn.Conv3d, nn.ConvTranspose3d)


@torch.no_grad()
def _fold_into(conv: nn.Module, bn: nn.BatchNorm3d) -> None:
    """Fold an eval-mode ``bn`` that follows ``conv`` into the conv's weight and bias."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else \
        1.0 / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias if bn.affine else torch.zeros_like(scale)
    # Conv3d weights are (out, in, ...); ConvTranspose3d weights are (in, out / groups, ...)
    axis = 1 if isinstance(conv, nn.ConvTranspose3d) else 0
    if isinstance(conv, nn.ConvTranspose3d) and conv.groups != 1:
        raise ValueError("cannot fold BatchNorm into a grouped transposed convolution")
    shape = [1] * conv.weight.dim()
    shape[axis] = -1
    conv.weight.mul_(scale.reshape(shape))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    new_bias = (bias - bn.running_mean) * scale + shift
    if conv.bias is None:
        conv.bias = nn.Parameter(new_bias, requires_grad=False)
    else:
        conv.bias.copy_(new_bias)


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    return (isinstance(conv, _CONVS) and isinstance(bn, nn.BatchNorm3d)
            and bn.track_running_stats and bn.running_mean is not None
            and bn.num_features == conv.out_channels
            and (not isinstance(conv, nn.ConvTranspose3d) or conv.groups == 1))


def fold_batchnorm(module: nn.Module) -> int:
    """Fold every BatchNorm3d that directly follows a Conv3d / ConvTranspose3d inside an
    ``nn.Sequential`` into that convolution (replaced by ``nn.Identity``), in place.

    Only valid for inference (eval mode). Returns the number of folded layers.
    """
    folded = 0
    for sequential in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        names = list(sequential._modules)
        for first, second in zip(names, names[1:]):
            conv, bn = sequential._modules[first], sequential._modules[second]
            if conv is not None and bn is not None and _foldable(conv, bn):
                _fold_into(conv, bn)
                sequential._modules[second] = nn.Identity()
                folded += 1
    return folded


class _InPlaceResidual(ResidualBlock):
    """ResidualBlock whose sum and ReLU reuse the body's output (inference only)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        out += x
        return self.relu(out)


class _InPlaceDecoder(DecoderLevel):
    """DecoderLevel whose skip sum reuses the upsampled map (inference only)."""

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.forward_popping(x, [skip])

    def forward_popping(self, x: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        """Add the last of ``skips``, taken off the list so that it is freed once added,
        and run the body layer by layer so that each input is freed once used."""
        x = self.up(x)
        x += skips.pop()
        for layer in self.body:
            x = layer(x)
        return x


class _LeanBackbone(FusionBackbone):
    """FusionBackbone whose decoder frees every skip as soon as it is added (inference)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = self.encode(x)
        x = skips.pop()
        for decoder in self.decoders:
            x = decoder.forward_popping(x, skips)
        return x


def sum_in_place(module: nn.Module) -> int:
    """Make the residual and decoder blocks of ``module`` add in place and its backbones
    free skips early (same arithmetic, fewer feature maps alive); only for inference,
    where no gradient needs the inputs. Returns the number of blocks changed."""
    swaps = {ResidualBlock: _InPlaceResidual, DecoderLevel: _InPlaceDecoder,
             FusionBackbone: _LeanBackbone}
    count = 0
    for block in module.modules():
        faster = swaps.get(type(block))
        if faster is not None:
            block.__class__ = faster
            count += 1
    return count


def _has_parameters(module: nn.Module) -> bool:
    return next(module.parameters(), None) is not None


def inference_copy(module: nn.Module, device: torch.device, fold: bool = True,
                   channels_last: bool = True, dtype: torch.dtype | None = None) -> nn.Module:
    """An eval-mode copy of ``module`` on ``device`` with BatchNorm folded and sums in place
    (``fold``) and the ``channels_last_3d`` layout (each optional). ``dtype``: the autocast
    dtype the copy will run under; its convolutions store their weights in it, which is
    what autocast would cast them to at every call. A module without parameters, or nothing
    to change, returns ``module`` itself (untouched)."""
    if not _has_parameters(module) or not (fold or channels_last or dtype is not None):
        return module
    was_training = module.training
    module.eval()  # deepcopy of the eval module: its BatchNorms use the running statistics
    try:
        optimised = copy.deepcopy(module).to(device)
    finally:
        module.train(was_training)
    optimised.eval()
    for parameter in optimised.parameters():
        parameter.requires_grad_(False)
    if fold:
        count = fold_batchnorm(optimised)
        log.debug("folded %d BatchNorm layers into their convolutions", count)
        sum_in_place(optimised)
    if dtype is not None:
        for layer in optimised.modules():
            if isinstance(layer, _CONVS):
                layer.to(dtype)
    if channels_last:
        optimised.to(memory_format=torch.channels_last_3d)
    return optimised
