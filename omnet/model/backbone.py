"""The shared 3D FusionNet backbone of OM-Net (Zhou et al., IEEE TIP 2020, Fig. 2)."""

from __future__ import annotations

import torch
from torch import nn

from omnet.errors import ModelConfigError
from omnet.model.blocks import DecoderLevel, EncoderLevel

__all__ = ["DOWNSAMPLING", "FusionBackbone", "check_input_size"]

#: Total down-sampling factor of the three max-poolings; inputs must be multiples of it.
DOWNSAMPLING = 8


def check_input_size(spatial: tuple[int, ...]) -> None:
    """Refuse inputs the three 2x poolings cannot halve exactly."""
    if len(spatial) != 3 or any(s <= 0 or s % DOWNSAMPLING for s in spatial):
        raise ModelConfigError(
            f"OM-Net needs a 3D input whose sizes are positive multiples of {DOWNSAMPLING}; "
            f"got spatial size {tuple(spatial)}")


class FusionBackbone(nn.Module):
    """Encoder-decoder with residual blocks, three max-poolings and summed skips.

    Args:
        in_channels: input sequences (4: FLAIR, T1, T1c, T2).
        width: channels of the first level; the levels use width x (1, 2, 4, 8).
        dropout: dropout probability after the bottleneck.
        bn_fraction: Caffe BatchNorm moving-average fraction.

    The output is the shared feature map F with ``width`` channels at full resolution.
    """

    def __init__(self, in_channels: int = 4, width: int = 32, dropout: float = 0.5,
                 bn_fraction: float = 0.999) -> None:
        super().__init__()
        if width < 1 or in_channels < 1:
            raise ModelConfigError("width and in_channels must be positive")
        w = [width, 2 * width, 4 * width, 8 * width]
        self.encoders = nn.ModuleList([
            EncoderLevel(in_channels, w[0], bn_fraction, first_bias_init=0.0),
            EncoderLevel(w[0], w[1], bn_fraction),
            EncoderLevel(w[1], w[2], bn_fraction),
            EncoderLevel(w[2], w[3], bn_fraction),
        ])
        self.pool = nn.MaxPool3d(kernel_size=2, stride=2)
        self.dropout = nn.Dropout(dropout)
        self.decoders = nn.ModuleList([
            DecoderLevel(w[3], w[2], bn_fraction),
            DecoderLevel(w[2], w[1], bn_fraction),
            DecoderLevel(w[1], w[0], bn_fraction, final=True),
        ])
        self.out_channels = width

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encoder outputs from full resolution down to the (dropped-out) bottleneck."""
        check_input_size(tuple(x.shape[2:]))
        skips = []
        for level, encoder in enumerate(self.encoders):
            if level:
                x = self.pool(x)
            x = encoder(x)
            skips.append(x)
        skips[-1] = self.dropout(skips[-1])
        return skips

    def decode(self, skips: list[torch.Tensor]) -> torch.Tensor:
        x = skips[-1]
        for decoder, skip in zip(self.decoders, reversed(skips[:-1])):
            x = decoder(x, skip)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
