"""Cross-task guided attention (CGA; Zhou et al., IEEE TIP 2020, Sec. III-C).

A CGA module takes the shared features F and the (detached) softmax of the previous task.
CSCI: Pt / Pn sum that softmax over the positive / other classes; the category-specific
channel importance vectors m_t[c] = sum_v Pt(v) F_c(v) and m_n (likewise with Pn) are
L1-normalised over channels. CompSeg: S_t = conv1x1(F * m_t), S_n = conv1x1(F * m_n),
merged as Pt S_t + Pn S_n and passed through a final 1x1x1 conv. No sigmoid, no FC layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from omnet.model.blocks import init_conv
from omnet.model.context import CoarseWindow, Window, scale_by_context, weighted_context_sum
from omnet.registry import ATTENTION_MODES

__all__ = ["CrossTaskGuidedAttention", "l1_normalise"]

_EPS = 1e-12


def l1_normalise(m: torch.Tensor) -> torch.Tensor:
    """Divide by the L1 norm over the channel axis (dim 1)."""
    return m / m.abs().sum(dim=1, keepdim=True).clamp_min(_EPS)


class CrossTaskGuidedAttention(nn.Module):
    """One CGA module.

    Args:
        channels: channels of the shared features F.
        num_classes: outputs of this task (5 for CGA-tumour, 2 for CGA-core).
        positive_classes: classes of the guiding task summed into Pt (the rest give Pn).
        mode: ``full`` (Pt S_t + Pn S_n), ``minus`` (S_t + S_n, the paper's CGA-),
            ``tumour`` (S_t only, CGAt) or ``nontumour`` (S_n only, CGAn).
    """

    def __init__(self, channels: int, num_classes: int, positive_classes: Sequence[int],
                 mode: str = "full") -> None:
        super().__init__()
        if mode not in ATTENTION_MODES:
            raise ValueError(f"unknown CGA mode {mode!r}; known: {', '.join(ATTENTION_MODES)}")
        self.mode = mode
        self.positive_classes = tuple(int(c) for c in positive_classes)
        self.tumour_path = (nn.Conv3d(channels, num_classes, 1)
                            if mode != "nontumour" else None)
        self.nontumour_path = (nn.Conv3d(channels, num_classes, 1)
                               if mode != "tumour" else None)
        self.merge = nn.Conv3d(num_classes, num_classes, 1)
        for conv in (self.tumour_path, self.nontumour_path, self.merge):
            if conv is not None:
                init_conv(conv, 0.1)

    def guidance(self, probabilities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pt and Pn (N, 1, D, H, W) from the guiding task's softmax; never back-propagated."""
        p = probabilities.detach()
        pt = p[:, list(self.positive_classes)].sum(dim=1, keepdim=True)
        return pt, 1.0 - pt  # the softmax sums to one: Pn is the rest

    def forward(self, features: torch.Tensor, probabilities: torch.Tensor,
                window: Window | CoarseWindow | None = None,
                feature_sum: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Return this task's logits and the internals (pt, pn, m_t, m_n) for display.

        ``feature_sum`` (the context sum of F, shared by both CGA modules) lets the
        non-tumour sum be ``sum(F) - sum(Pt F)`` instead of a third pass over F.
        """
        pt, pn = self.guidance(probabilities)
        internals = {"pt": pt, "pn": pn}
        merged = None
        sum_t = None
        if self.tumour_path is not None or feature_sum is not None:
            sum_t = weighted_context_sum(pt, features, window)
        if self.tumour_path is not None:
            m_t = l1_normalise(sum_t)
            s_t = self.tumour_path(scale_by_context(features, m_t))
            merged = pt * s_t if self.mode == "full" else s_t
            internals["m_t"] = m_t
        if self.nontumour_path is not None:
            sum_n = (feature_sum - sum_t if feature_sum is not None
                     else weighted_context_sum(pn, features, window))
            m_n = l1_normalise(sum_n)
            s_n = self.nontumour_path(scale_by_context(features, m_n))
            term = pn * s_n if self.mode == "full" else s_n
            merged = term if merged is None else merged + term
            internals["m_n"] = m_n
        assert merged is not None  # every mode has at least one pathway
        return self.merge(merged), internals
