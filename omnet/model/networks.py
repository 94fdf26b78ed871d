"""The OM-Net model family: the one-pass multi-task network and the model-cascade baselines.

Every model maps a (N, 4, D, H, W) input to the logits of the three tasks: task 1 (5 classes,
coarse), task 2 (5 classes, refined inside the tumour), task 3 (2 classes, enhancing or not).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from omnet.labels import CORE_CLASSES, ENHANCING, TASK_CLASSES, TUMOUR_CLASSES
from omnet.model.backbone import FusionBackbone
from omnet.model.cga import CrossTaskGuidedAttention
from omnet.model.context import CoarseWindow, Window, context_sum
from omnet.model.heads import TaskHead
from omnet.registry import ModelConfig

__all__ = ["Ensemble", "ModelCascade", "OMNet", "TaskLogits",
           "enhancing_logits_from_classes"]

Groups = dict[int, torch.Tensor]


class TaskLogits(NamedTuple):
    """Logits of the three tasks, each (N, C_k, D, H, W)."""

    task1: torch.Tensor
    task2: torch.Tensor
    task3: torch.Tensor


def enhancing_logits_from_classes(logits: torch.Tensor) -> torch.Tensor:
    """Binary (not-enhancing, enhancing) logits whose softmax equals the 5-class probabilities."""
    others = [c for c in range(logits.shape[1]) if c != ENHANCING]
    rest = torch.logsumexp(logits[:, others], dim=1, keepdim=True)
    return torch.cat([rest, logits[:, ENHANCING:ENHANCING + 1]], dim=1)


class _TaskModel(nn.Module):
    """Shared interface: ``forward`` for inference, ``forward_groups`` for training."""

    config: ModelConfig
    #: Per-voxel context window for CGA/SE on large tiles; None = the whole input (paper).
    context_window: Window | CoarseWindow | None = None

    def forward_groups(self, x: torch.Tensor, groups: Groups) -> dict[int, torch.Tensor]:
        raise NotImplementedError


class OMNet(_TaskModel):
    """One-pass multi-task network: one backbone pass, three task heads (optionally CGA).

    Args:
        config: variant and sizes; variants with ``attention`` replace the heads of tasks 2
            and 3 by CGA modules guided by tasks 1 and 2.

    Reference: C. Zhou, C. Ding, X. Wang, Z. Lu, D. Tao, "One-pass Multi-task Networks with
    Cross-task Guided Attention for Brain Tumor Segmentation", IEEE TIP 29, 2020.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        spec = config.spec
        if spec.cascade_networks:
            raise ValueError(f"{config.variant} is a cascade; build it with ModelCascade")
        self.config = config
        bn = config.bn_average_fraction
        se = config.se_reduction if spec.squeeze_excitation else None
        self.backbone = FusionBackbone(config.in_channels, config.width, config.dropout, bn)
        c = self.backbone.out_channels
        self.head1 = TaskHead(c, TASK_CLASSES[1], bn, se)
        self.attention = spec.attention
        if spec.attention is None:
            self.head2: nn.Module = TaskHead(c, TASK_CLASSES[2], bn, se)
            self.head3: nn.Module = TaskHead(c, TASK_CLASSES[3], bn, se)
        else:
            self.head2 = CrossTaskGuidedAttention(c, TASK_CLASSES[2], TUMOUR_CLASSES,
                                                  spec.attention)
            self.head3 = CrossTaskGuidedAttention(c, TASK_CLASSES[3], CORE_CLASSES,
                                                  spec.attention)

    def _heads(self, features: torch.Tensor, tasks: set[int], window: Window | None,
               attention: dict | None = None) -> dict[int, torch.Tensor]:
        """Logits of ``tasks`` on ``features``; guidance a task needs is computed untracked."""
        out: dict[int, torch.Tensor] = {}
        if self.attention is None:
            for k, head in ((1, self.head1), (2, self.head2), (3, self.head3)):
                if k in tasks:
                    out[k] = head(features, window)
            return out
        need1, need2 = bool(tasks & {1, 2, 3}), bool(tasks & {2, 3})
        # One context sum of F serves the non-tumour pathways of both CGA modules.
        feature_sum = context_sum(features, window) if window is not None and need2 else None
        with torch.set_grad_enabled(torch.is_grad_enabled() and 1 in tasks):
            logits1 = self.head1(features, window) if need1 else None
        if 1 in tasks:
            out[1] = logits1
        if need2:
            with torch.set_grad_enabled(torch.is_grad_enabled() and 2 in tasks):
                logits2, inner2 = self.head2(features, torch.softmax(logits1.float(), 1), window,
                                             feature_sum)
            if 2 in tasks:
                out[2] = logits2
            if attention is not None:
                attention["cga_tumour"] = inner2
        if 3 in tasks:
            logits3, inner3 = self.head3(features, torch.softmax(logits2.float(), 1), window,
                                         feature_sum)
            out[3] = logits3
            if attention is not None:
                attention["cga_core"] = inner3
        return out

    def forward(self, x: torch.Tensor, return_attention: bool = False,
                window: Window | None = None):
        """All three tasks for every input; with ``return_attention`` also the CGA internals
        (``cga_tumour`` / ``cga_core``: pt, pn, m_t, m_n) and the shared ``features``."""
        window = window if window is not None else self.context_window
        features = self.backbone(x)
        attention: dict | None = {"features": features} if return_attention else None
        out = self._heads(features, {1, 2, 3}, window, attention)
        logits = TaskLogits(out[1], out[2], out[3])
        return (logits, attention) if return_attention else logits

    def forward_groups(self, x: torch.Tensor, groups: Groups) -> dict[int, torch.Tensor]:
        """Training pass: one backbone pass over the concatenated batch, then each task's
        head on its own samples (``groups[k]`` = indices into the batch). CGA/SE summarise
        the whole patch (paper) unless ``context_window`` is set."""
        features = self.backbone(x)
        out = {}
        for task, index in groups.items():
            if len(index):
                out[task] = self._heads(features[index], {task}, self.context_window)[task]
        return out


class _SingleNetwork(nn.Module):
    """One independent network of a cascade: its own backbone and one task head."""

    def __init__(self, config: ModelConfig, num_classes: int) -> None:
        super().__init__()
        bn = config.bn_average_fraction
        self.backbone = FusionBackbone(config.in_channels, config.width, config.dropout, bn)
        self.head = TaskHead(self.backbone.out_channels, num_classes, bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class ModelCascade(_TaskModel):
    """Model-cascade baselines MC1/MC2/MC3: one, two or three independent networks.

    MC1's single 5-class network answers all tasks; MC2 adds a second 5-class network for
    task 2; MC3 adds a binary network for task 3. Missing task-3 logits are derived exactly
    from the last 5-class output.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        n = config.spec.cascade_networks
        if not n:
            raise ValueError(f"{config.variant} is not a cascade; build it with OMNet")
        self.config = config
        self.networks = nn.ModuleList(
            _SingleNetwork(config, TASK_CLASSES[k]) for k in range(1, n + 1))

    def _network_for(self, task: int) -> nn.Module:
        return self.networks[min(task, len(self.networks)) - 1]

    def forward(self, x: torch.Tensor, return_attention: bool = False,
                window: Window | None = None):
        outs = [net(x) for net in self.networks]
        task1 = outs[0]
        task2 = outs[1] if len(outs) > 1 else task1
        task3 = outs[2] if len(outs) > 2 else enhancing_logits_from_classes(task2)
        logits = TaskLogits(task1, task2, task3)
        return (logits, {}) if return_attention else logits

    def forward_groups(self, x: torch.Tensor, groups: Groups) -> dict[int, torch.Tensor]:
        """Each network runs on its own task's samples; tasks without a network of their own
        are trained through the last network (MC1 trains task 1 only in practice)."""
        out = {}
        for task, index in groups.items():
            if len(index) and task <= len(self.networks):
                out[task] = self._network_for(task)(x[index])
        return out


class Ensemble(_TaskModel):
    """Independently trained networks of one config, their task probabilities averaged.

    The output logits are the logarithm of the mean softmax per task, so everything
    downstream (decisions, probabilities, fusion) reads the averaged probabilities. The
    CGA maps and features with ``return_attention`` are the first member's, and thick
    input's second pass (the whole tumour's bound) runs the first member alone. A member
    marked in ``config.member_inputs`` for thick slices (a specialist trained on them)
    runs only on input whose four sequences all have thick slices (:meth:`for_input`),
    one marked ``ordinary`` only on other input. Inference only: its members are trained
    one by one (``omnet train``) and combined afterwards.
    """

    def __init__(self, config: ModelConfig, networks: Sequence[nn.Module] = ()) -> None:
        super().__init__()
        if config.members < 2:
            raise ValueError("an ensemble needs at least two members")
        self.config = config
        single = dataclasses.replace(config, members=1, member_inputs=())
        build = ModelCascade if single.spec.cascade_networks else OMNet
        self.members = nn.ModuleList(networks or (build(single) for _ in range(config.members)))
        #: The members ``forward`` averages: those for ordinary input (thick-slice
        #: specialists run through :meth:`for_input` only).
        self.averaged = config.members_for(thick=False)
        self.attention = getattr(self.members[self.averaged[0]], "attention", None)

    def for_input(self, *, thick: bool) -> nn.Module:
        """The network for input whose four sequences all have thick slices (``thick``) or
        for any other: this ensemble, or a view of the chosen members sharing their weights."""
        chosen = self.config.members_for(thick=thick)
        if chosen == self.averaged:
            return self
        if len(chosen) == 1:
            return self.members[chosen[0]]
        view = dataclasses.replace(self.config, members=len(chosen), member_inputs=())
        return Ensemble(view, [self.members[i] for i in chosen]).eval()

    @property
    def context_window(self) -> Window | CoarseWindow | None:  # type: ignore[override]
        return self.members[0].context_window

    @context_window.setter
    def context_window(self, window: Window | CoarseWindow | None) -> None:
        for member in self.members:
            member.context_window = window

    def forward(self, x: torch.Tensor, return_attention: bool = False,
                window: Window | None = None):
        """The mean of the members' task probabilities, as log-probabilities."""
        sums: list[torch.Tensor] | None = None
        attention = None
        for index in self.averaged:
            member = self.members[index]
            if return_attention and index == self.averaged[0]:
                logits, attention = member(x, return_attention=True, window=window)
            else:
                logits = member(x, window=window)
            probabilities = [torch.softmax(task.float(), dim=1) for task in logits]
            sums = probabilities if sums is None else [
                total.add_(p) for total, p in zip(sums, probabilities)]
            del logits, probabilities
        count = len(self.averaged)
        averaged = TaskLogits(*(torch.log(total.div_(count).clamp_(min=1e-12))
                                for total in sums))
        return (averaged, attention) if return_attention else averaged

    def forward_groups(self, x: torch.Tensor, groups: Groups) -> dict[int, torch.Tensor]:
        raise TypeError("an ensemble is not trained as a whole; train each member with "
                        "omnet train and combine them (tools/make_ensemble.py)")
