"""Step 1, the reference grid: check that every series is a volume, pick the output grid.

A localizer/scout or a 2D series (a few slices, or a slab a few cm thick) cannot be
resampled into a 3D brain, a label map holds classes, not intensities, a series of noise
(a failed export, a blank or broken series) holds no anatomy, and one series chosen for two
sequences leaves the network three contrasts; all are refused here, on the voxels as read,
before registration or brain extraction spend minutes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from omnet.data.naming import ROLE_TITLES, SEQUENCE_ROLES
from omnet.errors import InputError
from omnet.preparation.grids import Grid
from omnet.preprocessing.crop import brain_bbox

__all__ = ["MAX_CORRELATION", "MAX_LABEL_VALUES", "MIN_EXTENT_MM", "MIN_SLICES",
           "MIN_STRUCTURE", "check_anatomy", "check_distinct_series", "check_not_labels",
           "check_series", "reference_grid", "structure_share"]

#: Fewer slices than this along any axis: a localizer/scout or 2D series, not a volume.
MIN_SLICES = 10
#: A brain volume spans more than this along every axis (an adult brain 120-180 mm).
MIN_EXTENT_MM = 80.0
#: Two series on one grid correlating this much are one image at two scales (the 34 cases:
#: 0.78 at most; a copy rescaled and rounded to whole numbers: 0.99999).
MAX_CORRELATION = 0.9999
#: A series whose non-zero voxels take this many whole-number values or fewer is a label map
#: (BraTS: 1, 2, 4), not an MRI sequence (the phantoms of the tests take over 70).
MAX_LABEL_VALUES = 10
#: A series keeping less than this share of its variance under a 3-voxel mean, on its own
#: voxels, is noise, not anatomy: the 34 BraTS cases keep 0.63-0.97 (0.29-0.47 with Rician
#: noise of 30 % of the brain's median added), the demo case 0.73-0.81, white noise 1/27.
MIN_STRUCTURE = 0.2


def check_series(image: sitk.Image, name: str) -> None:
    """Refuse a series too thin to hold a brain: a localizer/scout or a 2D-only series."""
    size = np.asarray(image.GetSize())
    extent = size * np.asarray(image.GetSpacing())
    axis = int(np.argmin(size))
    if size[axis] < MIN_SLICES:
        raise InputError(f"{name}: only {size[axis]} slices; a localizer/scout or 2D series is "
                         "not a 3D volume of the head (choose the full series)")
    thin = int(np.argmin(extent))
    if extent[thin] < MIN_EXTENT_MM:
        raise InputError(f"{name}: covers only {extent[thin]:.0f} mm along one axis; a slab or "
                         "2D series does not hold the whole brain (choose a full head series)")


def structure_share(values: np.ndarray, inner: np.ndarray) -> float:
    """The share of ``values``' variance over ``inner`` kept by a 3 x 3 x 3 mean: near 1 for
    tissue that varies over millimetres, 1/27 for independent noise, 0 for a constant. The
    values are clipped to their 0.5-99.5 percentiles over ``inner`` first, so that a few
    extreme voxels (spikes, hot pixels) cannot make anatomy look like noise."""
    low, high = np.percentile(values[inner], [0.5, 99.5])
    clipped = np.clip(values, low, high)
    spread = float(clipped[inner].var())
    if spread == 0.0:
        return 0.0
    return float(ndimage.uniform_filter(clipped, 3)[inner].var()) / spread


def check_not_labels(image: sitk.Image, name: str) -> None:
    """Refuse a label map given as a sequence (a segmentation file picked by mistake)."""
    values = sitk.GetArrayViewFromImage(image)
    values = values[values != 0]
    sample = values[::max(1, values.size // 200_000)]
    distinct = np.unique(sample)
    if 0 < distinct.size <= MAX_LABEL_VALUES and np.all(distinct == np.round(distinct)):
        shown = ", ".join(f"{v:g}" for v in distinct)
        raise InputError(f"{name} looks like a label map (its voxels take only the values "
                         f"0, {shown}), not an MRI sequence; choose the image series")


def check_anatomy(image: sitk.Image, name: str) -> float:
    """Refuse a series whose non-zero voxels hold noise or one value instead of anatomy, on
    its own voxels (interpolation would smooth noise into structure); its share of
    structure (:func:`structure_share`)."""
    array = sitk.GetArrayViewFromImage(image)
    present = array != 0
    if not present.any():
        return 0.0  # nothing to judge: an empty volume is refused when it is read
    box = brain_bbox(present)
    values = np.asarray(array[box], dtype=np.float32)
    # voxels whose whole 3 x 3 x 3 neighbourhood is non-zero (an erosion, done faster)
    inner = ndimage.minimum_filter(present[box].view(np.uint8), 3, mode="constant").view(bool)
    if not inner.any():
        inner = present[box]
    share = structure_share(values, inner)
    if share < MIN_STRUCTURE:
        raise InputError(f"{name} shows no anatomy: {share:.0%} of its variation has spatial "
                         f"structure (brain scans: over 60 %), the rest is noise or one value; "
                         f"choose the right series")
    return share


def _correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Pearson correlation over the voxels where either image is non-zero (every 8th)."""
    x = first.ravel()[::8].astype(np.float64)
    y = second.ravel()[::8].astype(np.float64)
    either = (x != 0) | (y != 0)
    x, y = x[either], y[either]
    if x.size < 2 or x.std() == 0.0 or y.std() == 0.0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def check_distinct_series(images: Mapping[str, sitk.Image]) -> None:
    """Refuse two sequences that are one image (same grid, same voxels, or the same voxels
    at another intensity scale, as a series exported twice): one series chosen for two
    roles, easy with four selectors or four file flags. Four contrasts of one head are far
    from that: the 34 development cases correlate at most 0.78 (T1 with T1c)."""
    roles = [role for role in SEQUENCE_ROLES if role in images]
    for index, first in enumerate(roles):
        for second in roles[index + 1:]:
            if Grid.of(images[first]) != Grid.of(images[second]):
                continue
            a = sitk.GetArrayViewFromImage(images[first])
            b = sitk.GetArrayViewFromImage(images[second])
            titles = f"{ROLE_TITLES[first]} and {ROLE_TITLES[second]}"
            if np.array_equal(a, b):
                raise InputError(f"{titles} are the same image: choose the right series for "
                                 f"each of the four sequences")
            correlation = _correlation(a, b)
            if correlation >= MAX_CORRELATION:
                raise InputError(f"{titles} are one image at two intensity scales "
                                 f"(correlation {correlation:.4f}): choose the right series "
                                 f"for each of the four sequences")


def reference_grid(images: Mapping[str, sitk.Image],
                   reference_role: str) -> tuple[sitk.Image, dict]:
    """Check every series and return the reference image (its grid is the output's)."""
    structure = {}
    for role, image in images.items():
        name = ROLE_TITLES.get(role, role)
        check_series(image, name)
        check_not_labels(image, name)
        structure[role] = round(check_anatomy(image, name), 3)
    check_distinct_series(images)
    reference = images[reference_role]
    grid = Grid.of(reference)
    return reference, {"step": "reference grid", "sequence": reference_role,
                       "grid": grid.describe(), "structure": structure}
