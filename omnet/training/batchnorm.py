"""Re-estimate BatchNorm's running statistics for the network as it is now ("precise BN").

Training normalises with each batch's statistics; inference uses the running averages,
which trail the weights by about ``1 / (1 - average_fraction)`` iterations (1,000 with the
paper's 0.999). When the weights move fast (fine-tuning with new inputs or a new loss) the
trailing averages no longer fit them and the network in eval mode fails although its
training loss is low. Re-estimating the averages over a few training batches, with the
weights held, removes that lag; it runs before each validation and before the last
checkpoint, so what is validated and exported is the network as it was trained.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

__all__ = ["recalibrate_batchnorm"]


def _norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
            and m.track_running_stats]


def recalibrate_batchnorm(model: nn.Module, batches: Iterator[torch.Tensor] | list,
                          forward: Callable[[nn.Module, torch.Tensor], object]) -> int:
    """Replace every BatchNorm's running mean and variance by their plain average over
    ``batches`` (each passed to ``forward(model, x)`` in training mode, no gradients,
    dropout off); weights and the rest of the model's state are unchanged. Returns the
    number of batches used (0 leaves the statistics as they were)."""
    norms = _norms(model)
    if not norms:
        return 0
    saved = {m: (m.momentum, m.running_mean.clone(), m.running_var.clone(),
                 m.num_batches_tracked.clone()) for m in norms}
    was_training = model.training
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            module.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch weighs the same
        # the plain BatchNorm forward: the Caffe subclass's would set its own momentum
        m.forward = nn.modules.batchnorm._BatchNorm.forward.__get__(m)
    used = 0
    try:
        with torch.no_grad():
            for x in batches:
                forward(model, x)
                used += 1
    finally:
        for m in norms:
            if "forward" in m.__dict__:
                del m.forward
            momentum, mean, var, tracked = saved[m]
            m.momentum = momentum
            m.num_batches_tracked.copy_(tracked)
            if used == 0:
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
        model.train(was_training)
    return used
