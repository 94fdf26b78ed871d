"""The OM-Net model family (torch): build a network from a :class:`ModelConfig`."""

from __future__ import annotations

from torch import nn

from omnet.model.backbone import DOWNSAMPLING, FusionBackbone, check_input_size
from omnet.model.cga import CrossTaskGuidedAttention
from omnet.model.networks import Ensemble, ModelCascade, OMNet, TaskLogits
from omnet.registry import ModelConfig

__all__ = ["DOWNSAMPLING", "CrossTaskGuidedAttention", "Ensemble", "FusionBackbone",
           "ModelCascade",
           "ModelConfig", "OMNet", "TaskLogits", "build_model", "check_input_size",
           "count_conv_parameters"]


def build_model(config: ModelConfig | str, **overrides) -> OMNet | ModelCascade | Ensemble:
    """Build a randomly initialised network (an ensemble when ``members`` > 1) from a
    config or a variant name."""
    if isinstance(config, str):
        config = ModelConfig(variant=config, **overrides)
    elif overrides:
        config = ModelConfig(**{**config.to_dict(), **overrides})
    if config.members > 1:
        return Ensemble(config)
    return ModelCascade(config) if config.spec.cascade_networks else OMNet(config)


def count_conv_parameters(model: nn.Module) -> int:
    """Weights and biases of all (transposed) convolutions: the paper's Table I count."""
    return sum(p.numel() for m in model.modules()
               if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d))
               for p in m.parameters(recurse=False))
