"""What the preparation stage does to a case: one typed settings record (see :func:`prepare`)."""

from __future__ import annotations

from dataclasses import dataclass

from omnet.errors import InputError
from omnet.inference.settings import MATCH_CHOICES
from omnet.inference.settings import PREPARE_CHOICES as CHOICES

__all__ = ["CHOICES", "PrepareSettings"]


@dataclass(frozen=True)
class PrepareSettings:
    """How raw sequences become the network's input.

    Attributes:
        reference_role: the sequence whose grid the outputs are written on (the T1c).
        register: rigid registration of the other sequences onto the reference: ``auto``
            (when a quick check finds them out of line), ``on`` or ``off``.
        skull_strip: brain extraction: ``auto`` (when the inputs still hold skull and
            scalp), ``on`` or ``off``.
        bias_correction: N4 bias-field correction of every sequence.
        match_resolution: ``auto``: when one sequence has far thicker slices than another
            (a 5 mm FLAIR beside a 1 mm T1c), also prepare an input with all four at the
            thick series' resolution, that bounds the whole tumour; ``off``: never.
        spacing: the network's voxel spacing in mm (x, y, z), from the model card.
        interpolation: resampling of intensities onto the canonical grid: ``linear`` or
            ``bspline`` (cubic, far slower).
        grid_margin_mm: background kept around the head on the canonical grid.
        crop_margin: voxels of background kept around the brain's box in the network input.
    """

    reference_role: str = "t1ce"
    register: str = "auto"
    skull_strip: str = "auto"
    bias_correction: bool = False
    match_resolution: str = "auto"
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    interpolation: str = "linear"
    grid_margin_mm: float = 8.0
    crop_margin: int = 4

    def __post_init__(self) -> None:
        for name in ("register", "skull_strip"):
            if getattr(self, name) not in CHOICES:
                raise InputError(f"{name.replace('_', '-')} must be auto, on or off, "
                                 f"not {getattr(self, name)!r}")
        if self.match_resolution not in MATCH_CHOICES:
            raise InputError(f"match-resolution must be auto or off, not "
                             f"{self.match_resolution!r}")
        if self.interpolation not in ("bspline", "linear"):
            raise InputError(f"interpolation must be bspline or linear, not "
                             f"{self.interpolation!r}")
        if len(self.spacing) != 3 or min(self.spacing) <= 0:
            raise InputError(f"voxel spacing must be three positive mm values, not {self.spacing}")
