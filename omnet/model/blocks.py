"""Building blocks of the 3D FusionNet backbone: conv-BN-ReLU units and residual blocks."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CaffeBatchNorm3d", "Conv3x3x3", "ConvBNReLU", "DecoderLevel", "EncoderLevel",
           "ResidualBlock", "UpConv", "init_conv"]


class CaffeBatchNorm3d(nn.BatchNorm3d):
    """BatchNorm whose running statistics follow Caffe's bias-corrected moving average.

    Caffe keeps ``sum_t = f * sum_{t-1} + x_t`` and ``scale_t = f * scale_{t-1} + 1``;
    the running value ``sum_t / scale_t`` equals an exponential average whose momentum at
    step t is ``(1 - f) / (1 - f**t)``. Early statistics are therefore not biased toward
    the initial values, which matters for short training runs.
    """

    def __init__(self, num_features: int, average_fraction: float = 0.999,
                 eps: float = 1e-5) -> None:
        super().__init__(num_features, eps=eps, momentum=1.0 - average_fraction)
        self.average_fraction = average_fraction
        self._steps: int | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.track_running_stats:
            if self._steps is None:
                self._steps = int(self.num_batches_tracked)
            self._steps += 1
            f = self.average_fraction
            self.momentum = (1.0 - f) / (1.0 - f ** self._steps)
        return super().forward(x)

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # type: ignore[override]
        super()._load_from_state_dict(*args, **kwargs)
        self._steps = None


def init_conv(conv: nn.Module, bias: float) -> None:
    """He/MSRA-normal weights (fan-in, as Caffe's msra filler) and a constant bias."""
    nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
    if conv.bias is not None:
        nn.init.constant_(conv.bias, bias)


class Conv3x3x3(nn.Conv3d):
    """3x3x3 convolution (padding 1) that trains correctly under CPU bfloat16 autocast.

    oneDNN's bfloat16 weight gradient of a 3x3x3 convolution is wrong (up to inf/NaN) when
    a spatial size is below 4, which is the bottleneck of a 16-slice patch (torch 2.13 on
    x86). Such inputs are computed in float32 during CPU training; inference is unaffected.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size=3, padding=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.training and x.device.type == "cpu" and min(x.shape[2:]) < 4
                and torch.is_autocast_enabled("cpu")):
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float())
        return super().forward(x)


class ConvBNReLU(nn.Sequential):
    """3x3x3 convolution (padding 1, with bias), BatchNorm with affine scale/shift, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, bn_fraction: float,
                 bias_init: float = 0.1, relu: bool = True) -> None:
        conv = Conv3x3x3(in_channels, out_channels)
        init_conv(conv, bias_init)
        layers: list[nn.Module] = [conv, CaffeBatchNorm3d(out_channels, bn_fraction)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """x -> conv-BN-ReLU -> conv-BN-ReLU -> conv-BN, then ReLU(x + that); identity skip."""

    def __init__(self, channels: int, bn_fraction: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvBNReLU(channels, channels, bn_fraction),
            ConvBNReLU(channels, channels, bn_fraction),
            ConvBNReLU(channels, channels, bn_fraction, relu=False),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(x + self.body(x))


class EncoderLevel(nn.Sequential):
    """Conv (channel change) -> residual block -> conv, all at one resolution."""

    def __init__(self, in_channels: int, out_channels: int, bn_fraction: float,
                 first_bias_init: float = 0.1) -> None:
        super().__init__(
            ConvBNReLU(in_channels, out_channels, bn_fraction, bias_init=first_bias_init),
            ResidualBlock(out_channels, bn_fraction),
            ConvBNReLU(out_channels, out_channels, bn_fraction),
        )


class UpConv(nn.Sequential):
    """Transposed conv 2x2x2 stride 2 (+BN+ReLU): doubles resolution, changes width."""

    def __init__(self, in_channels: int, out_channels: int, bn_fraction: float) -> None:
        deconv = nn.ConvTranspose3d(in_channels, out_channels, kernel_size=2, stride=2)
        init_conv(deconv, 0.1)
        super().__init__(deconv, CaffeBatchNorm3d(out_channels, bn_fraction),
                         nn.ReLU(inplace=True))


class DecoderLevel(nn.Module):
    """Upsample, SUM with the encoder output of the same resolution, then conv-res(-conv).

    The last (full-resolution) level stops after its residual block (``final=True``).
    """

    def __init__(self, in_channels: int, out_channels: int, bn_fraction: float,
                 final: bool = False) -> None:
        super().__init__()
        self.up = UpConv(in_channels, out_channels, bn_fraction)
        layers: list[nn.Module] = [ConvBNReLU(out_channels, out_channels, bn_fraction),
                                   ResidualBlock(out_channels, bn_fraction)]
        if not final:
            layers.append(ConvBNReLU(out_channels, out_channels, bn_fraction))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.body(self.up(x) + skip)
