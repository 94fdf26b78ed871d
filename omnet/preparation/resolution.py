"""Step 5b, resolution matching: one sharpness for all four sequences, for a second pass.

Hospitals often acquire FLAIR, T2 and T1 as 2D series of 4-6 mm slices beside a 1 mm 3D
T1c. Resampled onto the 1 mm grid, the thick series are blurred along their slice axis while
the T1c is sharp: a mix the network never saw in training, and on such input it can paint
edema over whole lobes (5 mm FLAIR, T1 and T2 with a 1 mm T1c: whole tumour 2.9 times the
expert's on one case). When the sequences are this mixed, this step also makes a second
network input in which every sharper sequence is re-acquired through the thickest series'
slices (averaged over each slice's thickness, then sampled on that series' grid and brought
back), so all four have one sharpness, as in training. The pipeline keeps the whole tumour
where both passes find it and reads its inner structure (core, enhancing) from the native
pass, where the T1c keeps its detail. When all four are thick alike (5 mm axial
series), the input already has one sharpness; the step records it, and an ensemble's first
member, trained on thick slices, runs the second pass on that input.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from omnet.data.naming import SEQUENCE_ROLES
from omnet.preparation.grids import Grid, resample_array

__all__ = ["FWHM_SIGMAS", "MATCH_MIN_GAP_MM", "MATCH_RATIO", "coarsest_sequence",
           "far_coarser_than_grid", "matched_volume", "slice_thickness", "thick_throughout"]

#: A series is far coarser than another when its slices are at least this many times
#: thicker ...
MATCH_RATIO = 2.0
#: ... and at least this many mm thicker (so 0.5 mm beside 1 mm is left alone).
MATCH_MIN_GAP_MM = 2.0
#: Full width at half maximum of a Gaussian = this many sigmas (a slice's profile).
FWHM_SIGMAS = 2.0 * np.sqrt(2.0 * np.log(2.0))


def slice_thickness(image: sitk.Image) -> float:
    """The largest voxel spacing (mm): the slice thickness of a 2D series."""
    return float(max(image.GetSpacing()))


def _far_coarser(thick: float, thin: float) -> bool:
    return thick >= MATCH_RATIO * thin and thick - thin >= MATCH_MIN_GAP_MM


def coarsest_sequence(images: Mapping[str, sitk.Image]) -> str | None:
    """The role of the thickest-sliced sequence when it is far coarser than the sharpest
    one (see :data:`MATCH_RATIO`), else None."""
    thickness = {role: slice_thickness(images[role]) for role in SEQUENCE_ROLES}
    coarse = max(SEQUENCE_ROLES, key=thickness.__getitem__)
    return coarse if _far_coarser(thickness[coarse], min(thickness.values())) else None


def thick_throughout(images: Mapping[str, sitk.Image],
                     spacing: tuple[float, float, float]) -> float | None:
    """The thinnest sequence's slice thickness (mm) when every sequence is far coarser (see
    :data:`MATCH_RATIO`) than the network's grid ``spacing``, else None."""
    thinnest = min(slice_thickness(images[role]) for role in SEQUENCE_ROLES)
    return thinnest if _far_coarser(thinnest, max(spacing)) else None


def far_coarser_than_grid(image: sitk.Image, spacing: tuple[float, float, float]) -> bool:
    """True when ``image``'s slices are far thicker (see :data:`MATCH_RATIO`) than the
    network's grid ``spacing``: a label map on its grid would lose the network's detail."""
    return _far_coarser(slice_thickness(image), max(spacing))


def _slice_profile_sigmas(coarse: Grid, grid: Grid) -> tuple[float, float, float]:
    """Per canonical axis (z, y, x), in voxels, the Gaussian that averages a voxel of
    ``coarse`` over its extent, less what a voxel of ``grid`` already covers. The
    covariance along the coarse grid's axes is reduced to its diagonal on ``grid``'s axes:
    exact for series along the canonical axes, close for oblique ones."""
    axes = np.reshape(coarse.direction, (3, 3))  # column a: coarse axis a in LPS
    own = float(min(grid.spacing))
    variances = np.maximum(np.square(coarse.spacing) - own**2, 0.0) / FWHM_SIGMAS**2
    covariance = axes @ np.diag(variances) @ axes.T
    sigma_mm = np.sqrt(np.diag(covariance))  # along LPS x, y, z = the canonical axes
    return tuple(float(s / g) for s, g in zip(sigma_mm[::-1], grid.spacing[::-1]))


def matched_volume(volume: np.ndarray, inside: np.ndarray, images: Mapping[str, sitk.Image],
                   transforms: Mapping[str, sitk.Transform | None], grid: Grid,
                   coarse_role: str) -> tuple[np.ndarray, dict]:
    """``volume`` (4, z, y, x on the canonical ``grid``) with every far sharper sequence
    re-acquired through ``coarse_role``'s slices; zero outside ``inside``; the report entry.
    ``transforms`` map reference points to each sequence's points (the alignment's)."""
    coarse_image = images[coarse_role]
    coarse = Grid.of(coarse_image)
    thick = slice_thickness(coarse_image)
    to_coarse = transforms.get(coarse_role)
    from_coarse = to_coarse.GetInverse() if to_coarse is not None else None
    sigmas = _slice_profile_sigmas(coarse, grid)
    out = volume.copy()
    changed = []
    for index, role in enumerate(SEQUENCE_ROLES):
        if not _far_coarser(thick, slice_thickness(images[role])):
            continue
        averaged = ndimage.gaussian_filter(volume[index], sigmas, mode="constant")
        on_coarse = resample_array(averaged, grid, coarse, transform=from_coarse)
        out[index] = resample_array(on_coarse, coarse, grid, transform=to_coarse)
        changed.append(role)
    out[:, ~inside] = 0.0
    entry = {"step": "resolution matching", "applied": True, "through": coarse_role,
             "slice_mm": round(thick, 2), "re_acquired": changed,
             "reason": f"{coarse_role} has {thick:.1f} mm slices, far thicker than "
                       f"{', '.join(changed)}; a second pass sees all four at its resolution "
                       f"and bounds the whole tumour"}
    return out, entry
