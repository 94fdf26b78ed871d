"""The JSON report of one segmentation: what was done, with which model, how long it took."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import SimpleITK as sitk

from omnet import __version__
from omnet.data.discovery import CaseFiles
from omnet.data.naming import SEQUENCE_ROLES, SHORT_TITLES
from omnet.labels import LabelScheme
from omnet.preprocessing.crop import BBox

__all__ = ["build_report", "geometry_of", "input_record", "preparation_warnings"]


def input_record(case: CaseFiles | Mapping) -> dict:
    """Per sequence, the file read and how it was recognised, so that a reader of the
    report can check that the right series went into each channel."""
    if isinstance(case, CaseFiles) and case.four_d is not None:
        order = ("Medical Segmentation Decathlon order" if case.channel_order == SEQUENCE_ROLES
                 else "dataset.json order")
        return {role: {"file": case.four_d.name, "found_by": f"4D image, channel {index} "
                       f"({order})"}
                for index, role in enumerate(case.channel_order)}
    if isinstance(case, CaseFiles):
        return {role: {"file": path.name, "found_by": case.found_by.get(role, "file name")}
                for role, path in case.sequences().items()}
    return {role: {"file": Path(case[role]).name if isinstance(case[role], (str, os.PathLike))
                   else None, "found_by": "given"}
            for role in SEQUENCE_ROLES if role in case}


def geometry_of(image: sitk.Image) -> dict:
    return {"size": list(image.GetSize()), "spacing": list(image.GetSpacing()),
            "origin": list(image.GetOrigin()), "direction": list(image.GetDirection())}


def build_report(*, case_id: str, output: str | os.PathLike | None, scheme: LabelScheme,
                 volumes_ml: dict, run, mode: str, postprocessing: dict, preparation: dict,
                 model: dict, reference: sitk.Image, box: BBox, timings: dict,
                 attention: dict, files: dict, settings: dict | None = None,
                 output_grid: str = "reference", inputs: dict | None = None) -> dict:
    """A JSON-ready dict; ``run`` is the network stage's :class:`NetworkRun`.

    ``timings`` (seconds) has one entry per stage: load_model, read, prepare, network,
    fusion, postprocessing, write, and total. ``preparation`` says what each preparation
    step did (alignment, skull strip, bias field, canonical grid, crop) and its seconds;
    ``crop`` is the network's box on the canonical grid; ``output_grid`` where the outputs
    went (reference or network) and ``geometry`` that grid; ``settings`` the options asked for
    (:class:`omnet.inference.settings.SegmentSettings`); ``inputs`` which file was read as
    each sequence (:func:`input_record`).
    """
    return {
        "case": case_id, "output": str(output) if output is not None else None,
        "omnet_version": __version__, "inputs": inputs or {},
        "labels": {"scheme": scheme.name, "necrotic": scheme.necrotic, "edema": scheme.edema,
                   "enhancing": scheme.enhancing},
        "volumes_ml": volumes_ml, "device": run.device.type, "precision": run.precision,
        "mode": mode, "tiles": {"shape": list(run.tile_shape), "count": run.tiles,
                                "batch": run.batch_size},
        "events": list(run.events), "gpu_peak_mb": run.gpu_peak_mb,
        "postprocessing": postprocessing,
        "preparation": preparation, "model": model, "output_grid": output_grid,
        "geometry": geometry_of(reference),
        "crop": [[s.start, s.stop] for s in box], "timings_s": timings,
        "attention": attention, "files": files, "settings": settings,
    }


def preparation_warnings(preparation: dict) -> list[str]:
    """What the preparation found that a person must check before trusting the result
    (the ``prepared:`` line's start, the result line's ``warnings``, a batch's case line,
    Slicer's dialog)."""
    steps = {step["step"]: step for step in preparation.get("steps", [])}
    warnings = []
    named = steps.get("reference grid", {}).get("dicom_patient_mismatch") or []
    if named:  # series given one by one, their headers naming two patients
        titles = [SHORT_TITLES.get(role, role) for role in named]
        listed = " and ".join(filter(None, (", ".join(titles[:-1]), titles[-1])))
        several = len(titles) > 1
        warnings.append(f"check that every series is this patient's: the DICOM header"
                        f"{'s' if several else ''} of {listed} name{'' if several else 's'} "
                        "another patient than the T1c's")
    strip = steps.get("skull strip", {})
    suspects = strip.get("other_patient_suspected") or []
    if suspects:  # another patient's series on the same atlas grid passes every check
        from omnet.preparation.same_patient import suspects_text

        warnings.append("check that every series is this patient's: brain outline unlike the "
                        "reference's in " + suspects_text(strip.get("outline_dice", {}),
                                                         suspects))
    return warnings
