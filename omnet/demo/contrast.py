"""Turn the demo tissue map into FLAIR, T1, T1c and T2 images with realistic contrast.

Mean intensity of each tissue relative to white matter (:data:`RELATIVE_INTENSITY`; white
matter itself is :data:`WHITE_MATTER_LEVEL` on each sequence, in the range of BraTS files):

=================  =====  =====  =====  =====
tissue             FLAIR  T1     T1c    T2
=================  =====  =====  =====  =====
CSF                0.25   0.35   0.35   3.00
grey matter        1.15   0.80   0.82   1.35
white matter       1.00   1.00   1.00   1.00
edema              1.90   0.80   0.82   1.80
necrotic core      1.50   0.55   0.60   2.00
enhancing tumour   1.60   0.72   1.90   1.50
=================  =====  =====  =====  =====

So: T1 white > grey > CSF with a hypointense tumour core; the enhancing rim is the
brightest tissue on T1c; edema is bright on T2 and the brightest tissue on FLAIR; CSF is
the darkest tissue on FLAIR and the brightest on T2. The tissue values are then given a
fine texture (4% in normal tissue, 10% in tumour), blurred by a Gaussian of 0.5 voxel
(partial volume), multiplied by a smooth bias field (exp of a random field, about +-15%,
different for each sequence) and given Rician noise (standard deviation 2.5% of white
matter). Outside the brain every sequence is exactly 0, as in skull-stripped BraTS data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from omnet.demo.anatomy import (
    CSF,
    EDEMA,
    ENHANCING,
    GREY_MATTER,
    NECROSIS,
    OUTSIDE,
    TISSUE_NAMES,
    WHITE_MATTER,
)
from omnet.demo.fields import smooth_noise
from omnet.labels import MODALITIES

__all__ = ["RELATIVE_INTENSITY", "WHITE_MATTER_LEVEL", "render_sequences"]

RELATIVE_INTENSITY: dict[str, dict[int, float]] = {
    "flair": {CSF: 0.25, GREY_MATTER: 1.15, WHITE_MATTER: 1.0, EDEMA: 1.90, NECROSIS: 1.50,
              ENHANCING: 1.60},
    "t1": {CSF: 0.35, GREY_MATTER: 0.80, WHITE_MATTER: 1.0, EDEMA: 0.80, NECROSIS: 0.55,
           ENHANCING: 0.72},
    "t1ce": {CSF: 0.35, GREY_MATTER: 0.82, WHITE_MATTER: 1.0, EDEMA: 0.82, NECROSIS: 0.60,
             ENHANCING: 1.90},
    "t2": {CSF: 3.00, GREY_MATTER: 1.35, WHITE_MATTER: 1.0, EDEMA: 1.80, NECROSIS: 2.00,
           ENHANCING: 1.50},
}
WHITE_MATTER_LEVEL = {"flair": 300.0, "t1": 550.0, "t1ce": 450.0, "t2": 350.0}
TUMOUR_TISSUES = (EDEMA, NECROSIS, ENHANCING)


def _lookup(sequence: str) -> np.ndarray:
    lut = np.zeros(len(TISSUE_NAMES), dtype=np.float32)
    for tissue, value in RELATIVE_INTENSITY[sequence].items():
        lut[tissue] = value * WHITE_MATTER_LEVEL[sequence]
    return lut


def render_sequences(tissues: np.ndarray, spacing: Sequence[float], rng: np.random.Generator,
                     noise: float = 0.025, bias: float = 0.15) -> dict[str, np.ndarray]:
    """Role -> int16 image (z, y, x) for the four sequences of a tissue map.

    Args:
        tissues: tissue codes of :mod:`omnet.demo.anatomy`.
        spacing: voxel size in mm along (z, y, x).
        rng: the random generator (texture, bias fields and noise all come from it).
        noise: Rician noise standard deviation as a fraction of white matter intensity.
        bias: amplitude of the log bias field (0.15 gives roughly +-15%).
    """
    shape = tissues.shape
    brain = tissues != OUTSIDE
    tumour = np.isin(tissues, TUMOUR_TISSUES)
    texture = smooth_noise(shape, spacing, 3.0, rng)
    texture *= np.where(tumour, np.float32(0.10), np.float32(0.04))
    texture += 1.0
    images = {}
    for sequence in MODALITIES:
        clean = _lookup(sequence)[tissues]
        clean *= texture
        clean = ndimage.gaussian_filter(clean, 0.5)
        clean *= np.exp(bias * smooth_noise(shape, spacing, 90.0, rng))
        sigma = np.float32(noise * WHITE_MATTER_LEVEL[sequence])
        real = clean + sigma * rng.standard_normal(shape, dtype=np.float32)
        imaginary = sigma * rng.standard_normal(shape, dtype=np.float32)
        magnitude = np.sqrt(real * real + imaginary * imaginary)
        image = np.where(brain, np.clip(np.rint(magnitude), 1, np.iinfo(np.int16).max), 0)
        images[sequence] = image.astype(np.int16)
    return images
