"""How ``omnet segment`` runs a case: one typed record of the inference options (torch-free).

The API's keywords, the command line's options and the report's ``settings`` entry are this
record; the choices below are the only list of allowed values (the preparation stage's
settings use them too). Light on purpose: the command line imports it before parsing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from omnet.errors import InputError

__all__ = ["DEVICES", "LABEL_SETS", "MATCH_CHOICES", "MODES", "OUTPUT_GRIDS", "PRECISIONS",
           "PREPARE_CHOICES", "TTA_CHOICES", "SegmentSettings", "check_attention_without_tta"]

DEVICES = ("auto", "cpu", "cuda", "mps")
#: fast: large tiles with the windowed CGA statistics; exact: the paper's overlap-tile.
MODES = ("fast", "exact")
#: auto: mixed precision where the device supports it.
PRECISIONS = ("auto", "float32")
LABEL_SETS = ("brats2018", "brats2023")
#: Skull stripping and registration: detect the need (auto), always, never.
PREPARE_CHOICES = ("auto", "on", "off")
MATCH_CHOICES = ("auto", "off")
#: all: the 8 mirrorings; x: left-right only.
TTA_CHOICES = ("all", "x")
#: reference: the T1c's grid, as it was read; network: the 1 mm axis-aligned grid it ran on;
#: auto: network when the T1c's slices are far thicker than that grid, else reference.
OUTPUT_GRIDS = ("reference", "network", "auto")



def check_attention_without_tta(attention: object, tta: object) -> None:
    """Refuse attention maps with test-time augmentation: the maps come from the one
    unmirrored pass, which a mirrored run does not make, so they would never be written."""
    if attention is not None and tta is not None:
        raise InputError("attention maps (--attention) are not made with test-time "
                         "augmentation (--tta, --uncertainty): leave out one or the other")

@dataclass(frozen=True)
class SegmentSettings:
    """The options of one segmentation (see :func:`omnet.segment` for what each does).

    ``register`` also takes True / False for on / off.
    """

    device: str = "auto"
    mode: str = "fast"
    precision: str = "auto"
    postprocess: bool = True
    labels: str = "brats2018"
    register: str = "auto"
    skull_strip: str = "auto"
    bias_correction: bool = False
    match_resolution: str = "auto"
    tta: str | None = None
    output_grid: str = "reference"

    def __post_init__(self) -> None:
        if isinstance(self.register, bool):
            object.__setattr__(self, "register", "on" if self.register else "off")
        for name, allowed in (("device", DEVICES), ("mode", MODES), ("precision", PRECISIONS),
                              ("labels", LABEL_SETS), ("register", PREPARE_CHOICES),
                              ("skull_strip", PREPARE_CHOICES),
                              ("match_resolution", MATCH_CHOICES),
                              ("output_grid", OUTPUT_GRIDS)):
            value = getattr(self, name)
            if value not in allowed:
                raise InputError(f"unknown {name.replace('_', '-')} {value!r}; choose "
                                 f"{', '.join(allowed)}")
        if self.tta is not None and self.tta not in TTA_CHOICES:
            raise InputError(f"unknown tta {self.tta!r}; choose {', '.join(TTA_CHOICES)}")

    def with_options(self, **options) -> SegmentSettings:
        """A copy with ``options`` changed; a one-line error names an unknown option."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise InputError(f"unknown segmentation option(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(names))}")
        return dataclasses.replace(self, **options)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
