"""Step 3, skull strip: find out whether the sequences still hold skull and scalp, and if so
extract the brain with a :class:`BrainExtractor` (an optional package, see
:mod:`omnet.preparation.brain_extraction`). Runs on the reference grid."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import numpy as np
import SimpleITK as sitk

from omnet.errors import InputError
from omnet.preparation.grids import Grid

__all__ = ["Detector", "skull_strip"]

log = logging.getLogger(__name__)

Detector = Callable[[dict], "tuple[bool, str]"]

#: Share of a stripped-looking reference's tissue that must lie inside the brains the
#: alignment found in the other sequences for that tissue to be its brain mask: a head
#: whose air was zeroed and whose slices cover part of it also looks stripped (FG-6692's
#: raw T1c so, cut to a 99 mm slab: 2.3 L), but its skull and scalp lie outside them.
OWN_TISSUE_IN_BRAIN = 0.9


def _mask_of(result: sitk.Image, reference: sitk.Image) -> sitk.Image:
    if Grid.of(result).size != Grid.of(reference).size:
        raise InputError(f"brain extraction returned a {result.GetSize()} mask for a "
                         f"{reference.GetSize()} image")
    mask = sitk.Cast(sitk.GetImageFromArray(
        (sitk.GetArrayViewFromImage(result) > 0).astype(np.uint8)), sitk.sitkUInt8)
    mask.CopyInformation(reference)
    return mask


def _own_tissue(image: sitk.Image) -> sitk.Image:
    """A skull-stripped image's brain mask: its non-zero voxels (the background is at zero
    by now, :mod:`omnet.preparation.background`)."""
    mask = sitk.Cast(sitk.NotEqual(image, 0), sitk.sitkUInt8)
    mask.CopyInformation(image)
    return mask


def _share_inside(mask: sitk.Image, brains: Mapping[str, sitk.Image]) -> float | None:
    """The share of ``mask``'s voxels inside the union of ``brains`` (masks on its grid);
    None when there is no brain to compare with."""
    if not brains:
        return None
    inside = np.zeros(sitk.GetArrayViewFromImage(mask).shape, dtype=bool)
    for brain in brains.values():
        inside |= sitk.GetArrayViewFromImage(brain) > 0
    own = sitk.GetArrayViewFromImage(mask) > 0
    return float(np.count_nonzero(own & inside)) / max(1, int(np.count_nonzero(own)))


def _refuse_what_is_not_a_head(reference: sitk.Image) -> None:
    """Before any brain extraction: fewer non-zero millilitres than a brain is no head."""
    from omnet.preparation import crop

    ml = float(np.count_nonzero(sitk.GetArrayViewFromImage(reference))) \
        * float(np.prod(reference.GetSpacing())) / 1000.0
    if ml < crop.MIN_BRAIN_ML:
        raise InputError(f"these images do not show a brain: only {ml:.0f} mL of tissue "
                         f"(a brain has at least {crop.MIN_BRAIN_ML:.0f} mL)")


def skull_strip(images: Mapping[str, sitk.Image], reference_role: str, mode: str,
                extractor=None, detector: Detector | None = None,
                known: Mapping[str, sitk.Image] | None = None,
                ) -> tuple[sitk.Image | None, dict]:
    """The brain mask on the reference grid, or None when the inputs are already stripped
    (or ``mode`` is off); the record says what was decided and why.

    ``extractor``/``detector`` default to the packaged ones; needing the extractor when
    its package is missing raises a one-line error that says how to install it. ``known``:
    role -> a brain mask on the reference grid that the alignment already extracted, which
    the extractor uses instead of extracting that sequence again. Under ``auto``, a reference
    that is stripped while another sequence is not (mixed skull states) hands its own tissue
    as its mask where :data:`OWN_TISSUE_IN_BRAIN` of it lies inside the brains ``known``
    holds: HD-BET on an already stripped T1c cost 22 s and found the same brain.
    """
    record: dict = {"step": "skull strip", "mode": mode}
    _refuse_what_is_not_a_head(images[reference_role])
    if mode == "off":
        return None, {**record, "done": False, "reason": "skull stripping off"}
    if mode == "auto":
        if detector is None:
            from omnet.preparation.brain_extraction import looks_skull_stripped as detector
        stripped, why = detector(dict(images))
        record["detected_skull_stripped"] = bool(stripped)
        if stripped:
            return None, {**record, "done": False, "reason": f"already skull-stripped ({why})"}
        record["reason"] = f"skull and scalp found ({why})"
        reference_stripped = detector({reference_role: images[reference_role]})[0]
    else:
        record["reason"] = "asked for"
        reference_stripped = False
    if extractor is None:
        from omnet.preparation.brain_extraction import default_extractor

        extractor = default_extractor()
    started = time.perf_counter()
    reference = images[reference_role]
    known = dict(known or {})
    if known:
        record["masks_from_alignment"] = sorted(known)
    if reference_stripped:  # trusted where the other sequences' brains hold its tissue
        own = _own_tissue(reference)
        share = _share_inside(own, known)
        if share is not None:
            record["own_tissue_in_brain"] = round(share, 3)
        if share is not None and share >= OWN_TISSUE_IN_BRAIN:
            known[reference_role] = own
            record["mask_from_own_tissue"] = reference_role
    if known:  # only then: an extractor may take ``images`` alone, as the protocol once did
        extracted = extractor.extract(dict(images), known=known)
    else:
        extracted = extractor.extract(dict(images))
    mask = _mask_of(extracted, reference)
    voxels = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
    if voxels == 0:
        raise InputError("brain extraction found no brain in these images")
    brain_ml = voxels * float(np.prod(reference.GetSpacing())) / 1000.0
    log.info("brain extracted: %.0f mL in %.1f s", brain_ml, time.perf_counter() - started)
    return mask, {**record, "done": True, "extractor": type(extractor).__name__,
                  "brain_ml": round(brain_ml, 1),
                  "seconds": round(time.perf_counter() - started, 2)}
