"""Torch-free registry of the OM-Net model family and the configuration that builds one.

The CLI and the Slicer modules list variants from here without importing torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from omnet.errors import ModelConfigError

#: How CompSeg merges the two pathways of a CGA module (paper Sec. III-C and its ablations).
ATTENTION_MODES = ("full", "minus", "tumour", "nontumour")


@dataclass(frozen=True)
class VariantSpec:
    """What a named variant is made of.

    Attributes:
        name: the name users type (``omnet-cga``).
        title: the name used in the paper's tables.
        description: one line for menus and ``omnet models``.
        cascade_networks: 0 for the one-pass multi-task model, else the number of independent
            networks of the model-cascade baseline (MC1/MC2/MC3).
        attention: CGA merge mode for tasks 2 and 3, or None for plain task heads.
        squeeze_excitation: an SE block before each task classifier (OM-Net + SE).
        paper_parameters_m: Table I parameter count in millions, where the paper gives one.
    """

    name: str
    title: str
    description: str
    cascade_networks: int = 0
    attention: str | None = None
    squeeze_excitation: bool = False
    paper_parameters_m: float | None = None


VARIANTS: dict[str, VariantSpec] = {
    spec.name: spec
    for spec in (
        VariantSpec("omnet-cga", "OM-Net + CGA",
                    "one-pass multi-task network with cross-task guided attention (paper's final)",
                    attention="full"),
        VariantSpec("omnet", "OM-Net", "one-pass multi-task network, plain task heads",
                    paper_parameters_m=13.869),
        VariantSpec("omnet-se", "OM-Net + SE",
                    "OM-Net with a squeeze-and-excitation block before each classifier",
                    squeeze_excitation=True, paper_parameters_m=13.870),
        VariantSpec("omnet-cga-minus", "OM-Net + CGA-",
                    "CGA ablation: the two CompSeg pathways summed without Pt/Pn weighting",
                    attention="minus"),
        VariantSpec("omnet-cga-t", "OM-Net + CGAt", "CGA ablation: tumour pathway only",
                    attention="tumour"),
        VariantSpec("omnet-cga-n", "OM-Net + CGAn", "CGA ablation: non-tumour pathway only",
                    attention="nontumour"),
        VariantSpec("mc1", "MC1", "model cascade baseline: one network for all classes",
                    cascade_networks=1, paper_parameters_m=13.813),
        VariantSpec("mc2", "MC2", "model cascade baseline: two networks (tumour, then classes)",
                    cascade_networks=2, paper_parameters_m=27.626),
        VariantSpec("mc3", "MC3", "model cascade baseline: three networks (the full cascade)",
                    cascade_networks=3, paper_parameters_m=41.439),
    )
}

DEFAULT_VARIANT = "omnet-cga"
PAPER_WIDTH = 32


def get_variant(name: str) -> VariantSpec:
    """Return the spec of a named variant, or raise with the list of known names."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ModelConfigError(
            f"unknown model variant {name!r}; choose one of: {', '.join(VARIANTS)}") from None


def list_variants() -> list[VariantSpec]:
    """All variants in registry order (the paper's final model first)."""
    return list(VARIANTS.values())


#: What input an ensemble member runs on (``ModelConfig.member_inputs``).
MEMBER_INPUTS = ("any", "ordinary", "thick")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a network; saved in the model card next to the weights.

    Attributes:
        variant: a name from :data:`VARIANTS`.
        width: channels of the first level; levels use width x (1, 2, 4, 8). The paper uses 32.
        in_channels: input sequences (FLAIR, T1, T1c, T2).
        dropout: dropout probability after the bottleneck (paper: 0.5).
        bn_average_fraction: Caffe BatchNorm moving-average fraction (paper: 0.999).
        se_reduction: channel reduction inside the SE blocks of ``omnet-se`` (8 reproduces
            the paper's +0.001 M of OM-Net + SE over OM-Net).
        members: independently trained networks of this config whose task probabilities
            are averaged (an ensemble); 1 for a single network.
        member_inputs: per member of an ensemble, the input it runs on: ``any``,
            ``ordinary`` (not input whose four sequences all have thick slices) or
            ``thick`` (only that input: a thick-slice specialist); empty: every member on
            every input.
    """

    variant: str = DEFAULT_VARIANT
    width: int = PAPER_WIDTH
    in_channels: int = 4
    dropout: float = 0.5
    bn_average_fraction: float = 0.999
    se_reduction: int = 8
    members: int = 1
    member_inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        get_variant(self.variant)
        object.__setattr__(self, "member_inputs", tuple(self.member_inputs))
        if self.width < 2 or self.width % 2:
            raise ModelConfigError(f"width must be an even number >= 2, got {self.width}")
        if self.in_channels < 1:
            raise ModelConfigError(f"in_channels must be >= 1, got {self.in_channels}")
        if not 0.0 <= self.dropout < 1.0:
            raise ModelConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.bn_average_fraction < 1.0:
            raise ModelConfigError(
                f"bn_average_fraction must be in (0, 1), got {self.bn_average_fraction}")
        if self.se_reduction < 1:
            raise ModelConfigError(f"se_reduction must be >= 1, got {self.se_reduction}")
        if self.members < 1:
            raise ModelConfigError(f"members must be >= 1, got {self.members}")
        if self.member_inputs:
            if len(self.member_inputs) != self.members or self.members < 2:
                raise ModelConfigError(f"member_inputs needs one entry per member of an "
                                       f"ensemble ({self.members}), got {self.member_inputs}")
            unknown = set(self.member_inputs) - set(MEMBER_INPUTS)
            if unknown:
                raise ModelConfigError(f"member_inputs: unknown {', '.join(sorted(unknown))}; "
                                       f"choose from {', '.join(MEMBER_INPUTS)}")
            for thick in (False, True):
                if not self.members_for(thick=thick):
                    raise ModelConfigError("member_inputs leaves no member for "
                                           + ("thick-slice" if thick else "ordinary") + " input")

    def members_for(self, *, thick: bool) -> tuple[int, ...]:
        """The members averaged on input whose four sequences all have thick slices
        (``thick``) or on any other input."""
        if not self.member_inputs:
            return tuple(range(self.members))
        wanted = ("any", "thick" if thick else "ordinary")
        return tuple(i for i, kind in enumerate(self.member_inputs) if kind in wanted)

    def ensemble_text(self) -> str:
        """How many networks run, in words ("" for a single network)."""
        if self.members == 1:
            return ""
        text = f"ensemble of {len(self.members_for(thick=False))}"
        specialists = self.member_inputs.count("thick")
        if specialists:
            text += f" (+{specialists} for four thick-slice series)"
        return text

    @property
    def spec(self) -> VariantSpec:
        return get_variant(self.variant)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.members == 1:
            del data["members"]  # single networks' cards stay as they were
        if self.member_inputs:
            data["member_inputs"] = list(self.member_inputs)
        else:
            del data["member_inputs"]  # as cards were before thick-slice members
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from a card's dict, refusing keys this version does not know."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ModelConfigError(f"unknown model settings: {', '.join(sorted(unknown))}")
        return cls(**data)
