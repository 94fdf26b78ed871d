"""The JSON report of one segmentation: what was done, with which model, how long it took."""

from __future__ import annotations

import os

import SimpleITK as sitk

from omnet import __version__
from omnet.labels import LabelScheme
from omnet.preprocessing.crop import BBox

__all__ = ["build_report", "geometry_of"]


def geometry_of(image: sitk.Image) -> dict:
    return {"size": list(image.GetSize()), "spacing": list(image.GetSpacing()),
            "origin": list(image.GetOrigin()), "direction": list(image.GetDirection())}


def build_report(*, case_id: str, output: str | os.PathLike | None, scheme: LabelScheme,
                 volumes_ml: dict, run, mode: str, postprocessing: dict, preparation: dict,
                 model: dict, reference: sitk.Image, box: BBox, timings: dict,
                 attention: dict, files: dict, settings: dict | None = None,
                 output_grid: str = "reference") -> dict:
    """A JSON-ready dict; ``run`` is the network stage's :class:`NetworkRun`.

    ``timings`` (seconds) has one entry per stage: load_model, read, prepare, network,
    fusion, postprocessing, write, and total. ``preparation`` says what each preparation
    step did (alignment, skull strip, bias field, canonical grid, crop) and its seconds;
    ``crop`` is the network's box on the canonical grid; ``output_grid`` where the outputs
    went (reference or network) and ``geometry`` that grid; ``settings`` the options asked for
    (:class:`omnet.inference.settings.SegmentSettings`).
    """
    return {
        "case": case_id, "output": str(output) if output is not None else None,
        "omnet_version": __version__,
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
