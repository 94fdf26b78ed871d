"""A seeded synthetic BraTS-like case: four sequences and the true label map.

The field of view is a BraTS grid of 240 x 240 x 155 mm; ``size`` (x, y, z voxels) sets the
voxel size, so the default (240, 240, 155) is 1 mm isotropic like BraTS, and a smaller grid
gives a coarser, faster case (the tests use one). The same seed gives identical arrays.
With ``skull=True`` the brain is wrapped in a synthetic skull and scalp
(:mod:`~omnet.demo.head`), as in a scan that was not skull-stripped; the brain's voxels and
the labels are the same as without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from omnet.demo.anatomy import OUTSIDE, make_anatomy, tissues_to_labels
from omnet.demo.contrast import render_sequences
from omnet.demo.head import add_synthetic_head
from omnet.labels import MODALITIES
from omnet.utils.atomic import atomic_path

__all__ = ["DEFAULT_SIZE", "FIELD_OF_VIEW_MM", "DemoCase", "DemoSettings", "make_demo_case",
           "write_demo_case"]

FIELD_OF_VIEW_MM = (240.0, 240.0, 155.0)
DEFAULT_SIZE = (240, 240, 155)
DEFAULT_SEED = 2018


@dataclass(frozen=True)
class DemoSettings:
    """What to generate.

    Attributes:
        size: grid size (x, y, z) in voxels over the 240 x 240 x 155 mm field of view.
        seed: seed of every random choice (tumour place and shape, texture, bias, noise).
        noise: Rician noise standard deviation as a fraction of white matter intensity.
        bias: amplitude of the smooth multiplicative bias field (log scale).
        skull: wrap the brain in a synthetic skull and scalp (not skull-stripped).
    """

    size: tuple[int, int, int] = DEFAULT_SIZE
    seed: int = DEFAULT_SEED
    noise: float = 0.025
    bias: float = 0.15
    skull: bool = False

    def __post_init__(self) -> None:
        if len(self.size) != 3 or any(int(n) < 32 for n in self.size):
            raise ValueError(f"demo size must be three numbers of at least 32, not {self.size}")
        if not 0.0 <= self.noise <= 0.5 or not 0.0 <= self.bias <= 1.0:
            raise ValueError("demo noise must be within 0..0.5 and bias within 0..1")

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size (x, y, z) in mm."""
        return tuple(fov / n for fov, n in zip(FIELD_OF_VIEW_MM, self.size))


@dataclass
class DemoCase:
    """The generated arrays, all (z, y, x), and their grid (x, y, z order, as SimpleITK)."""

    images: dict[str, np.ndarray]
    labels: np.ndarray
    tissues: np.ndarray
    tumour_centre: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    settings: DemoSettings = field(default_factory=DemoSettings)

    def to_image(self, array: np.ndarray):
        """A SimpleITK image of one array on the case's grid."""
        import SimpleITK as sitk

        image = sitk.GetImageFromArray(array)
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        return image


def make_demo_case(settings: DemoSettings = DemoSettings()) -> DemoCase:
    """Generate the case in memory (about 10 s and 1 GB at the full 1 mm size)."""
    rng = np.random.default_rng(settings.seed)
    spacing_zyx = settings.spacing[::-1]
    anatomy = make_anatomy(settings.size[::-1], spacing_zyx, rng)
    images = render_sequences(anatomy.tissues, spacing_zyx, rng, settings.noise, settings.bias)
    if settings.skull:  # its own seed: the brain is the same with and without the head
        images = add_synthetic_head(images, spacing_zyx, brain=anatomy.tissues != OUTSIDE,
                                    seed=settings.seed, noise=settings.noise)
    # BraTS 2018 files: identity direction, origin (0, -239, 0) for the 240-voxel grid.
    origin = (0.0, -(settings.size[1] - 1) * settings.spacing[1], 0.0)
    return DemoCase(images=images, labels=tissues_to_labels(anatomy.tissues),
                    tissues=anatomy.tissues, tumour_centre=anatomy.tumour_centre,
                    spacing=settings.spacing, origin=origin, settings=settings)


def write_demo_case(case: DemoCase, folder: str | os.PathLike,
                    case_id: str = "demo") -> dict[str, Path]:
    """Write ``<case_id>_flair.nii.gz`` ... ``<case_id>_seg.nii.gz`` (BraTS 2018 names).

    Returns role -> path for the four sequences and ``seg``. Each file appears complete or
    not at all.
    """
    import SimpleITK as sitk

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {**{role: case.images[role] for role in MODALITIES}, "seg": case.labels}
    paths = {}
    for role, array in arrays.items():
        path = folder / f"{case_id}_{role}.nii.gz"
        with atomic_path(path) as tmp:
            sitk.WriteImage(case.to_image(array), str(tmp), useCompression=True)
        paths[role] = path
    return paths
