"""The whole demo: generate a case, segment it, evaluate it, draw it, report it.

Output folder layout::

    DIR/demo/demo_flair.nii.gz, demo_t1, demo_t1ce, demo_t2   the synthetic case (BraTS 2018 names)
    DIR/demo/demo_seg.nii.gz                                  its true label map (0/1/2/4)
    DIR/demo_prediction.nii.gz                                the segmentation (if a model ran)
    DIR/demo_overlay.png                                      three slices through the tumour
    DIR/demo_report.json                                      settings, metrics, model, timings

Paths in the report are relative to DIR.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omnet import __version__
from omnet.data.naming import SEQUENCE_ROLES
from omnet.demo.generator import DemoSettings, make_demo_case, write_demo_case
from omnet.demo.overlay import write_overlay_png
from omnet.errors import InputError
from omnet.utils.atomic import atomic_write_json

__all__ = ["CASE_ID", "DemoResult", "ensure_output_dir", "run_demo"]

log = logging.getLogger(__name__)

CASE_ID = "demo"
Progress = Callable[[float, str], None]


@dataclass
class DemoResult:
    """What the demo wrote; ``problem`` says why it did not segment, when it did not."""

    folder: Path
    case_files: dict[str, Path]
    overlay: Path | None
    report_path: Path
    report: dict[str, Any]
    prediction: Path | None = None
    evaluation: Any = None
    problem: str | None = None

    @property
    def segmented(self) -> bool:
        return self.prediction is not None


def ensure_output_dir(out_dir: str | os.PathLike) -> Path:
    """Create the output folder; a one-line InputError if that is impossible."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder {out}: {exc.strerror}") from None
    return out


def _no_model_problem(model: object) -> str | None:
    """Why the demo cannot segment without ``--model`` (None when a bundled model exists)."""
    if model is not None:
        return None
    from omnet.bundled import default_model_path
    from omnet.errors import ModelFileError

    try:
        default_model_path()
    except ModelFileError as exc:
        return f"could not segment the demo case: {exc}"
    return None


def _scaled(progress: Progress | None, start: float, end: float) -> Progress | None:
    if progress is None:
        return None
    return lambda fraction, stage: progress(start + (end - start) * fraction, stage)


def run_demo(out_dir: str | os.PathLike, settings: DemoSettings = DemoSettings(),  # noqa: B008
             *, model: object = None, device: str = "auto", mode: str = "fast",
             segment: bool = True, progress: Progress | None = None,
             segmenter: Callable[..., Any] | None = None) -> DemoResult:
    """Generate, write, segment, evaluate and draw the demo case in ``out_dir``.

    Args:
        out_dir: output folder (created; the demo's own files in it are replaced).
        settings: grid size, seed, noise, bias and skull of the synthetic case.
        model: a model file (or anything :func:`omnet.segment` accepts); None = bundled.
        device, mode: passed to :func:`omnet.segment`.
        segment: False writes the case, the overlay and the report only.
        progress: called with (fraction 0..1, stage).
        segmenter: stands in for :func:`omnet.segment` (tests).
    Returns:
        A :class:`DemoResult`; when no model is available it has ``problem`` set and no
        prediction, and everything else is still written.
    """
    from omnet.evaluation.files import evaluate_files

    out = ensure_output_dir(out_dir)
    timings: dict[str, float] = {}
    report_progress = progress or (lambda fraction, stage: None)

    started = time.perf_counter()
    report_progress(0.0, "generating the demo case")
    case = make_demo_case(settings)
    files = write_demo_case(case, out / CASE_ID, CASE_ID)
    timings["generate"] = round(time.perf_counter() - started, 3)

    problem = None if segment else "segmentation skipped (--no-segment)"
    problem = problem or _no_model_problem(model)
    prediction_path, evaluation, prediction, segmentation = None, None, None, None
    if problem is None:
        started = time.perf_counter()
        segmenter = segmenter or _default_segmenter()
        inputs = {role: files[role] for role in SEQUENCE_ROLES}
        result = segmenter(inputs, out / f"{CASE_ID}_prediction.nii.gz", model=model,
                           device=device, mode=mode, labels="brats2018",
                           progress=_scaled(progress, 0.15, 0.85))
        prediction_path = out / f"{CASE_ID}_prediction.nii.gz"
        segmentation = getattr(result, "report", None)
        timings["segment"] = round(time.perf_counter() - started, 3)

        started = time.perf_counter()
        report_progress(0.88, "evaluating")
        evaluation = evaluate_files(prediction_path, files["seg"], pred_labels="brats2018",
                                    ref_labels="brats2018", case_id=CASE_ID)
        prediction = _read_labels(prediction_path)
        timings["evaluate"] = round(time.perf_counter() - started, 3)

    report_progress(0.92, "drawing the overlay")
    title = f"OMNet demo: synthetic case, seed {settings.seed}"
    if evaluation is not None:
        title += " | Dice " + ", ".join(f"{name} {m.dice:.3f}"
                                        for name, m in evaluation.regions.items())
    overlay = _draw(out / f"{CASE_ID}_overlay.png", case, prediction, title)

    report = _report(out, settings, case, files, prediction_path, evaluation, segmentation,
                     overlay, problem, timings)
    report_path = out / f"{CASE_ID}_report.json"
    atomic_write_json(report_path, report)
    report_progress(1.0, "done")
    return DemoResult(folder=out, case_files=files, overlay=overlay, report_path=report_path,
                      report=report, prediction=prediction_path, evaluation=evaluation,
                      problem=problem)


def _draw(path: Path, case, prediction: np.ndarray | None, title: str) -> Path | None:
    """The overlay PNG, or None (with a warning) where matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log.warning("no overlay drawn: matplotlib is not installed (pip install 'omnet[plots]')")
        return None
    return write_overlay_png(path, case.images, case.spacing[::-1], case.labels, prediction,
                             centre=case.tumour_centre, title=title)


def _default_segmenter() -> Callable[..., Any]:
    from omnet import segment

    return segment


def _read_labels(path: Path) -> np.ndarray:
    import SimpleITK as sitk

    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def _relative(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _report(out, settings, case, files, prediction, evaluation, segmentation, overlay,
            problem, timings) -> dict[str, Any]:
    voxel_ml = float(np.prod(case.spacing)) / 1000.0
    true_volumes = {name: float(np.count_nonzero(case.labels == value)) * voxel_ml
                    for name, value in (("necrotic", 1), ("edema", 2), ("enhancing", 4))}
    return {
        "omnet_version": __version__,
        "generator": {"seed": settings.seed, "size_xyz": list(settings.size),
                      "spacing_mm": list(case.spacing), "noise": settings.noise,
                      "bias": settings.bias, "skull": settings.skull,
                      "tumour_centre_zyx": [int(v) for v in case.tumour_centre],
                      "true_volumes_ml": true_volumes},
        "case": {role: _relative(path, out) for role, path in files.items()},
        "segmented": prediction is not None,
        "problem": problem,
        "prediction": _relative(prediction, out),
        "metrics": ({name: m.to_dict() for name, m in evaluation.regions.items()}
                    if evaluation is not None else None),
        "segmentation": segmentation,
        "overlay": _relative(overlay, out),
        "timings_s": timings,
    }
