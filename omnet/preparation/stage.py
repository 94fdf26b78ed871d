"""The preparation stage: raw sequences in, the network's input out, and the way back.

:func:`prepare` runs the steps in order: reference grid -> alignment -> skull strip ->
bias field -> canonical grid -> resolution matching (only for mixed slice thicknesses) ->
normalise and crop. Each step records what it did (for the
report); the spatial ones also leave a frozen record (:class:`Resampled`, :class:`Cropped`)
that :meth:`PreparedCase.restore` undoes in reverse to bring any result (labels,
probabilities, attention maps, the brain mask) onto the reference sequence's grid.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from omnet.preparation.alignment import align, check_same_brain, on_reference
from omnet.preparation.background import zero_background
from omnet.preparation.bias import bias_fields
from omnet.preparation.brain_extraction import BrainMasks
from omnet.preparation.canonical import canonical_grid, to_canonical
from omnet.preparation.coverage import brain_coverage, check_brain_coverage
from omnet.preparation.crop import check_brain, normalise_and_crop
from omnet.preparation.grids import Cropped, Grid, Resampled
from omnet.preparation.reference import reference_grid
from omnet.preparation.resolution import (
    coarsest_sequence,
    far_coarser_than_grid,
    matched_volume,
    slice_thickness,
    thick_throughout,
)
from omnet.preparation.same_patient import other_patient_suspects, outline_agreement
from omnet.preparation.settings import PrepareSettings
from omnet.preparation.skullstrip import Detector, skull_strip
from omnet.preprocessing.normalize import zscore_nonzero

__all__ = ["PreparedCase", "prepare"]


@dataclass
class PreparedCase:
    """The network's input and how it was made.

    Attributes:
        volume: (4, bz, by, bx) float32, z-scored FLAIR, T1, T1c, T2 on the canonical grid,
            cropped to the brain.
        brain: (bz, by, bx) bool brain mask of the crop.
        records: the spatial records in run order (:class:`Resampled`, :class:`Cropped`).
        reference: the reference sequence (its grid is the outputs').
        steps: one report entry per step, in run order.
        timings: seconds per step.
        matched: the same crop with every sequence at the thickest series' resolution
            (:mod:`omnet.preparation.resolution`), or None when the sequences match.
        thick_mm: the thinnest sequence's slice thickness when all four are far thicker
            than the network's grid (one sharpness, so no ``matched``), else None.
    """

    volume: np.ndarray
    brain: np.ndarray
    records: tuple
    reference: sitk.Image
    steps: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    matched: np.ndarray | None = None
    thick_mm: float | None = None

    @property
    def canonical(self) -> Grid:
        return next(r.target for r in self.records if isinstance(r, Resampled))

    @property
    def box(self):
        return next(r.box for r in self.records if isinstance(r, Cropped))

    def restore(self, values: np.ndarray, fill: float = 0.0,
                nearest: bool = False) -> np.ndarray:
        """``values`` (..., bz, by, bx) over the crop -> (..., z, y, x) on the reference grid;
        ``fill`` outside the crop, nearest-neighbour for labels."""
        for record in reversed(self.records):
            values = record.undo(values, fill, nearest)
        return values

    def restore_image(self, values: np.ndarray, fill: float = 0.0, nearest: bool = False,
                      dtype=np.float32) -> sitk.Image:
        """:meth:`restore` as an image with the reference's geometry."""
        image = sitk.GetImageFromArray(self.restore(values, fill, nearest).astype(dtype,
                                                                               copy=False))
        image.CopyInformation(self.reference)
        return image

    @property
    def on_reference_grid(self) -> bool:
        """True while the outputs go onto the reference sequence's grid."""
        return any(isinstance(r, Resampled) for r in self.records)

    def on_network_grid(self, chosen: str = "asked") -> PreparedCase:
        """The same case with its outputs going onto the network's grid (the model card's
        spacing, axis-aligned, around the brain) instead of the reference's: a thick or
        oblique T1c then keeps the network's 1 mm answer instead of its own slices'."""
        cropped = tuple(r for r in self.records if isinstance(r, Cropped))
        step = {"step": "output grid", "grid": "network", "chosen": chosen,
                "network_mm": round(max(self.canonical.spacing), 2),
                "reference_slice_mm": round(slice_thickness(self.reference), 2)}
        return dataclasses.replace(self, records=cropped, reference=self.canonical.image(),
                                   steps=[*self.steps, step])

    def for_outputs(self, output_grid: str) -> PreparedCase:
        """This case with its outputs on the grid ``output_grid`` names (reference, network,
        or auto: the network's when the reference's slices are far thicker than it)."""
        if output_grid == "network":
            return self.on_network_grid("asked")
        if output_grid == "auto" and far_coarser_than_grid(self.reference,
                                                           self.canonical.spacing):
            return self.on_network_grid("auto: the reference's slices are far thicker")
        return self

    def brain_image(self) -> sitk.Image:
        """The brain mask (uint8, 1 = brain) on the reference grid."""
        return self.restore_image(self.brain.astype(np.uint8), 0, True, np.uint8)

    def report(self) -> dict:
        return {"steps": self.steps, "timings_s": self.timings}


def prepare(raw, settings: PrepareSettings | None = None, extractor=None,
            detector: Detector | None = None) -> PreparedCase:
    """Turn one case's sequences, as read, into the network's input.

    Args:
        raw: a :class:`omnet.data.imageio.RawCase` or a mapping role -> ``SimpleITK.Image``
            (flair, t1, t1ce, t2), each on its own grid.
        settings: what to do (default :class:`PrepareSettings`).
        extractor / detector: brain extraction and the skull-stripped check (default: the
            packaged ones; tests pass stubs).

    Raises:
        InputError / GeometryError: a localizer or 2D series, a sequence that does not
            overlap the reference, a volume that is not a brain, a missing extractor.
    """
    settings = settings or PrepareSettings()
    images: Mapping[str, sitk.Image] = getattr(raw, "images", raw)
    role = settings.reference_role
    steps, timings = [], {}

    @contextlib.contextmanager
    def timed(name: str):
        started = time.perf_counter()
        yield
        timings[name] = round(time.perf_counter() - started, 3)

    with timed("reference_grid"):
        images, moved = zero_background(images)
        reference, entry = reference_grid(images, role)
        if moved:
            entry["background_moved_to_zero"] = moved
        mismatch = getattr(raw, "dicom_patient_mismatch", None)
        if mismatch is not None:  # DICOM series compared with the T1c's patient
            entry["dicom_patient_mismatch"] = mismatch
        steps.append(entry)

    with timed("alignment"):
        masks = BrainMasks(extractor)  # each sequence's brain extracted at most once
        transforms, entry = align(images, role, settings.register,
                                  None if settings.skull_strip == "off" else masks)
        steps.append(entry)

    with timed("skull_strip"):
        working = on_reference(images, reference, transforms)
        brain_ref, entry = skull_strip(working, role, settings.skull_strip, masks.extractor,
                                       detector, masks.on_grid(reference, transforms))
        if brain_ref is None:  # the inputs' own tissue is the brain: it must be one brain
            check_same_brain(working, role)
        if brain_ref is None and settings.skull_strip != "off":  # found already stripped
            entry["outline_dice"] = outline_agreement(images, role, transforms)
            entry["other_patient_suspected"] = other_patient_suspects(entry["outline_dice"],
                                                                      role)
        steps.append(entry)

    with timed("bias_field"):
        fields, entry = bias_fields(working, brain_ref, settings.bias_correction)
        steps.append(entry)

    with timed("canonical_grid"):
        foreground = (sitk.GetArrayViewFromImage(brain_ref) > 0 if brain_ref is not None
                      else sitk.GetArrayViewFromImage(working[role]) != 0)
        grid = canonical_grid(reference, foreground, settings.spacing, settings.grid_margin_mm)
        del working
        volume, brain, resampled, entry = to_canonical(images, transforms, reference, grid,
                                                       brain_ref, fields, settings.interpolation)
        entry.update(check_brain(brain, grid.spacing, stripped=brain_ref is not None))
        entry["brain_coverage"] = brain_coverage(images, transforms, grid, brain)
        check_brain_coverage(entry["brain_coverage"])
        steps.append(entry)

    with timed("resolution_matching"):
        auto = settings.match_resolution == "auto"
        coarse = coarsest_sequence(images) if auto else None
        thick = thick_throughout(images, grid.spacing) if auto and coarse is None else None
        matched = None
        if coarse is not None:
            matched, entry = matched_volume(volume, brain, images, transforms, grid, coarse)
        elif thick is not None:
            entry = {"step": "resolution matching", "applied": False, "thick_mm": round(thick, 2),
                     "reason": f"all four sequences have {thick:.1f} mm slices or thicker (one "
                               f"sharpness); an ensemble's first network, trained on thick "
                               f"slices, also bounds the whole tumour"}
        else:
            entry = {"step": "resolution matching", "applied": False,
                     "reason": "off" if not auto else "the sequences' slice thicknesses are alike"}
        steps.append(entry)

    with timed("normalise_crop"):
        volume, brain_crop, cropped, entry = normalise_and_crop(volume, brain,
                                                                settings.crop_margin)
        steps.append(entry)
        if matched is not None:
            matched = zscore_nonzero(matched[(slice(None), *cropped.box)])
    return PreparedCase(volume=volume, brain=brain_crop, records=(resampled, cropped),
                        reference=reference, steps=steps, timings=timings, matched=matched,
                        thick_mm=thick)
