"""Task heads: a 3x3x3 conv-BN-ReLU and a 1x1x1 classifier, optionally with an SE block."""

from __future__ import annotations

import torch
from torch import nn

from omnet.model.blocks import ConvBNReLU, init_conv
from omnet.model.context import Window, context_mean

__all__ = ["SqueezeExcitation", "TaskHead"]


class SqueezeExcitation(nn.Module):
    """Channel gating from the mean over the context (Hu et al. 2018), as 1x1x1 convs."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.reduce = nn.Conv3d(channels, hidden, kernel_size=1)
        self.expand = nn.Conv3d(hidden, channels, kernel_size=1)
        init_conv(self.reduce, 0.0)
        init_conv(self.expand, 0.0)

    def forward(self, x: torch.Tensor, window: Window | None = None) -> torch.Tensor:
        gate = torch.sigmoid(self.expand(torch.relu(self.reduce(context_mean(x, window)))))
        return x * gate


class TaskHead(nn.Module):
    """conv 3x3x3 (+BN+ReLU), optional SE, then a 1x1x1 classifier to ``num_classes`` logits."""

    def __init__(self, channels: int, num_classes: int, bn_fraction: float,
                 se_reduction: int | None = None) -> None:
        super().__init__()
        self.conv = ConvBNReLU(channels, channels, bn_fraction)
        self.se = SqueezeExcitation(channels, se_reduction) if se_reduction else None
        self.classifier = nn.Conv3d(channels, num_classes, kernel_size=1)
        init_conv(self.classifier, 0.1)

    def forward(self, features: torch.Tensor, window: Window | None = None) -> torch.Tensor:
        x = self.conv(features)
        if self.se is not None:
            x = self.se(x, window)
        return self.classifier(x)
