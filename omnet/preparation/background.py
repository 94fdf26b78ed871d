"""Before the first step: a sequence whose background is one exact value other than zero
(a skull-stripped scan normalised so that its floor is negative, say) has that value moved
to zero, so that "non-zero" means tissue downstream, as in BraTS files. The shift is
invisible to the network: every sequence is z-scored over the brain later."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk

__all__ = ["BORDER_SHARE", "border_background", "zero_background"]

#: Share of the grid's border voxels that must hold the one background value (a brain
#: cropped close may touch the border; a raw head's air is noise, rarely one value).
BORDER_SHARE = 0.5


def border_background(array: np.ndarray) -> tuple[float, float]:
    """The most common value on the grid's six faces and the share of the faces it holds."""
    border = np.concatenate([face.ravel() for axis in range(array.ndim)
                             for face in (np.take(array, 0, axis), np.take(array, -1, axis))])
    values, counts = np.unique(border, return_counts=True)
    return float(values[counts.argmax()]), float(counts.max() / border.size)


def zero_background(images: Mapping[str, sitk.Image]
                    ) -> tuple[dict[str, sitk.Image], dict[str, float]]:
    """``images`` with each exact non-zero background moved to zero, and role -> the value
    moved (only the sequences that had one)."""
    out, moved = {}, {}
    for role, image in images.items():
        array = sitk.GetArrayViewFromImage(image)
        value, share = border_background(array)
        if value == 0 or share < BORDER_SHARE:
            out[role] = image
            continue
        shifted = sitk.GetImageFromArray(array.astype(np.float32) - np.float32(value))
        shifted.CopyInformation(image)
        out[role], moved[role] = shifted, value
    return out, moved
