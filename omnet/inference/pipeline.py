"""``omnet.segment``: four MRI sequences in, a BraTS label map in the reference geometry out.

Stages (each timed in the report): read -> prepare (:mod:`omnet.preparation`: reference
grid, alignment, skull strip, bias field, the model's canonical 1 mm grid, z-score and crop
to the brain) -> network (one forward pass per tile gives all three tasks) -> fusion
(paper's cascade rules) -> post-processing (optional) -> write (results brought back onto
the T1c's grid by the preparation's records; atomic files).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from omnet.bundled import is_bundled
from omnet.data.archive import remove_unpacked
from omnet.data.discovery import CaseFiles
from omnet.errors import Cancelled
from omnet.inference.attention import attention_volumes
from omnet.inference.device import select_device
from omnet.inference.fusion import fused_classes, within_both_whole_tumours
from omnet.inference.model_source import (
    ModelSource,
    first_network,
    resolve_model,
    thick_slice_network,
)
from omnet.inference.network import has_attention
from omnet.inference.outputs import (
    BRAIN_MASK_DESCRIPTION,
    UNCERTAINTY_DESCRIPTION,
    attention_images,
    check_not_inputs,
    check_segment_destinations,
    label_description,
    label_volumes_ml,
    probability_images,
    write_image,
    write_images,
)
from omnet.inference.plausibility import check_tumour_share
from omnet.inference.predict import TilingSettings, predict_crop
from omnet.inference.report import build_report, input_record
from omnet.inference.settings import SegmentSettings, check_attention_without_tta
from omnet.inference.sources import arrays_with_spacing, case_input
from omnet.labels import classes_to_labels, get_scheme
from omnet.preparation import PreparedCase, PrepareSettings, prepare
from omnet.utils.atomic import atomic_write_json

__all__ = ["SegmentationResult", "segment"]

log = logging.getLogger(__name__)

#: Where each stage ends on the overall progress scale.
_STAGE_END = {"reading": 0.04, "preparing": 0.1, "network": 0.9,
              "fusion": 0.93, "post-processing": 0.96, "writing": 1.0}


@dataclass
class SegmentationResult:
    """What :func:`segment` produced; images are on the outputs' grid (``output_grid``: the
    T1c's as it was read, by default).

    Attributes:
        labels: the label map (uint8; BraTS 2018 labels 0/1/2/4 or 2023 0/1/2/3);
            ``SimpleITK.GetArrayFromImage(result.labels)`` gives it as a (z, y, x) array.
        volumes_ml: mL per label (necrotic, edema, enhancing) and region (whole, core,
            enhancing_tumour).
        report: the JSON-ready report (what was done, model, timings, preparation steps);
            see :func:`omnet.inference.report.build_report`.
        attention / probabilities: the CGA maps / per-task probabilities by name, filled
            only when ``attention_dir`` / ``probabilities_dir`` was given.
        output: the label map's file, or None when none was written.
        files: the other files written, by kind (probabilities, attention, brain_mask,
            uncertainty).
    """

    labels: sitk.Image
    volumes_ml: dict[str, float]
    report: dict
    attention: dict[str, sitk.Image] = field(default_factory=dict)
    probabilities: dict[str, sitk.Image] = field(default_factory=dict)
    output: Path | None = None
    files: dict[str, list[str]] = field(default_factory=dict)


class _Stages:
    """Times each stage, reports progress, and stops between stages when asked to."""

    def __init__(self, progress: Callable[[float, str], None] | None,
                 cancel: threading.Event | None) -> None:
        self.progress, self.cancel = progress, cancel
        self.timings: dict[str, float] = {}
        self.start = time.perf_counter()
        self._begin = 0.0
        self._last_end = 0.0

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("stopped by request")

    def begin(self, stage: str) -> None:
        self._begin = time.perf_counter()
        self.report(0.0, stage)
        self.check()

    def report(self, fraction: float, stage: str) -> None:
        if self.progress is not None:
            lo, hi = self._last_end, _STAGE_END[stage]
            self.progress(lo + (hi - lo) * fraction, stage)

    def end(self, stage: str, key: str) -> None:
        self.timings[key] = round(time.perf_counter() - self._begin, 3)
        self._last_end = _STAGE_END[stage]


def _whole_tumour_input(prepared: PreparedCase, source: ModelSource) -> np.ndarray | None:
    """The input of a second pass that bounds the whole tumour, or None.

    Mixed slice thicknesses: the resolution-matched volume. Four thick series alike: the
    native volume again, through an ensemble's first network (trained on thick slices; the
    other member, never shown them, over-segments the edema there: with 5 mm axial slices
    the worst validation case's whole tumour lost 0.152 Dice without the second pass, 0.059
    with it).
    """
    if prepared.matched is not None:
        return prepared.matched
    if prepared.thick_mm is not None and source.members > 1:
        log.info("all four sequences have %.1f mm slices or thicker: the whole tumour's "
                 "extent is also read by the ensemble's first network", prepared.thick_mm)
        return prepared.volume
    return None


def _network_for(prepared: PreparedCase, source: ModelSource) -> ModelSource:
    """The networks of the main pass: an ensemble's thick-slice members when all four
    sequences have thick slices (with 5 mm axial series the validation cases lost 0.020 /
    0.029 / 0.059 Dice against 0.024 / 0.029 / 0.069 without its specialist), else the
    ensemble's ordinary members."""
    if prepared.thick_mm is None:
        return source
    network = thick_slice_network(source)
    if network is not source:
        log.info("all four sequences have %.1f mm slices or thicker: %s runs",
                 prepared.thick_mm, network.name)
    return network


def segment(inputs, output: str | os.PathLike | None = None, *, model=None,
            settings: SegmentSettings | None = None,
            probabilities_dir: str | os.PathLike | None = None,
            attention_dir: str | os.PathLike | None = None,
            report: str | os.PathLike | None = None,
            brain_mask: str | os.PathLike | None = None,
            uncertainty: str | os.PathLike | None = None,
            progress: Callable[[float, str], None] | None = None,
            cancel: threading.Event | None = None,
            tiling: TilingSettings | None = None, extractor=None,
            spacing: tuple[float, float, float] | None = None,
            **options) -> SegmentationResult:
    """Segment one case: four MRI sequences in, a BraTS label map (and volumes) out.

    For many cases load the model once with :func:`omnet.load_model` and pass it as
    ``model``: a path or None is read and checked again on every call. Nothing is written
    unless a destination (``output``, ``report``, ...) is given.

    Args:
        inputs: a case folder, a 4D file (MSD order), a zip archive of a case, a
            :class:`CaseFiles`, or a mapping role -> path / ``SimpleITK.Image`` / array with
            roles flair, t1, t1ce, t2 (arrays are (z, y, x), of voxel size ``spacing``).
        output: where to write the label map (uint8, reference geometry); None writes none.
        model: a ``.safetensors`` path, a ``LoadedModel`` (:func:`omnet.load_model`), an
            ``nn.Module`` (moved to the device), or None for the bundled model.
        settings: the options (:class:`SegmentSettings`); keyword ``options`` override
            single fields of it:
            device: auto, cpu, cuda or mps. mode: fast or exact. precision: auto or float32.
            postprocess: the paper's small-component removal and K-means edema
            relabelling, then a scant enhancing tumour called necrotic core.
            labels: brats2018 (0/1/2/4) or brats2023 (0/1/2/3).
            register: rigid registration of the other sequences onto the T1c: auto (when
            they are found out of line), on, off (True / False mean on / off).
            skull_strip: brain extraction: auto (when skull and scalp are found), on, off.
            bias_correction: N4 bias-field correction of every sequence first.
            match_resolution: auto: when one sequence has far thicker slices than another,
            a second network pass at that resolution bounds the whole tumour; off.
            tta: test-time augmentation by mirroring: ``all`` (8 runs), ``x`` (2) or None.
            output_grid: where every output goes: ``reference`` (the T1c's grid, as it
            was read), ``network`` (the 1 mm axis-aligned grid the network ran on), or
            ``auto`` (network when the T1c's slices are far thicker than that grid).
        probabilities_dir / attention_dir: write per-task probabilities / CGA maps there
            (attention maps not with ``tta`` or ``uncertainty``: an :class:`InputError`).
        report: write the JSON report there.
        brain_mask: write the brain mask (uint8, on the outputs' grid) there.
        uncertainty: write the voxel-wise disagreement of the mirrored runs there (implies
            ``tta="all"`` when ``tta`` is None).
        progress: called with (fraction 0..1, stage name).
        cancel: when set, the run stops with :class:`Cancelled` and writes nothing.
        tiling: tile settings (default: ``TilingSettings(mode=settings.mode)``).
        extractor: a brain extractor (default: the packaged one, loaded when needed).
        spacing: the voxel size (mm, x y z) of numpy array inputs; None: 1 mm. Arrays carry
            none, so give it for any other voxel size (volumes and checks depend on it).

    Returns:
        :class:`SegmentationResult`: the label map, volumes in mL, the report.

    Raises:
        omnet.errors.OMNetError: every refusal, with a one-line message fit to show as is
            (:class:`~omnet.errors.InputError` for the inputs and options,
            :class:`~omnet.errors.ModelFileError` for the model,
            :class:`~omnet.errors.Cancelled` when ``cancel`` was set).
    """
    from omnet.data.imageio import read_case

    settings = (settings or SegmentSettings()).with_options(**options)
    inputs = arrays_with_spacing(inputs, spacing)
    if uncertainty is not None and settings.tta is None:
        settings = settings.with_options(tta="all")
    scheme = get_scheme(settings.labels)
    tta = settings.tta
    check_attention_without_tta(attention_dir, tta)
    check_segment_destinations(output=output, brain_mask=brain_mask, uncertainty=uncertainty,
                               report=report, probabilities_dir=probabilities_dir,
                               attention_dir=attention_dir)
    tiling = tiling or TilingSettings(mode=settings.mode)
    precision = settings.precision
    stages = _Stages(progress, cancel)
    torch_device = select_device(settings.device)
    started = time.perf_counter()
    source = resolve_model(model, torch_device)
    stages.timings["load_model"] = round(time.perf_counter() - started, 3)

    stages.begin("reading")
    case = case_input(inputs)
    try:
        if isinstance(case, CaseFiles):
            check_not_inputs({"the label map": output, "the brain mask": brain_mask,
                              "the uncertainty map": uncertainty, "the report": report},
                             case.all_paths(), {"the probabilities folder": probabilities_dir,
                                                "the attention folder": attention_dir})
            # expert labels: not needed, and a broken one must not stop the run
            case = dataclasses.replace(case, seg=None)
        raw = read_case(case)
    finally:  # a zipped case's unpacked files are not needed once read
        if isinstance(case, CaseFiles):
            remove_unpacked(case.all_paths())
    stages.end("reading", "read")
    stages.begin("preparing")
    preparation = PrepareSettings(register=settings.register,
                                  skull_strip=settings.skull_strip,
                                  bias_correction=settings.bias_correction,
                                  match_resolution=settings.match_resolution,
                                  spacing=source.spacing)
    prepared = prepare(raw, preparation, extractor=extractor)
    prepared = prepared.for_outputs(settings.output_grid)
    stages.end("preparing", "prepare")

    stages.begin("network")
    extent_input = _whole_tumour_input(prepared, source)
    network = _network_for(prepared, source)
    passes = 1 if extent_input is None else 2  # the second bounds the whole tumour

    def network_progress(done_passes: int) -> Callable[[float], None]:
        return lambda f: stages.report((done_passes + f) / passes, "network")

    want_attention = attention_dir is not None and has_attention(source.module)
    if attention_dir is not None and not want_attention:
        log.warning("%s has no cross-task guided attention; no attention maps written",
                    source.name)
    if tta is not None:
        from omnet.inference.tta import predict_with_tta

        run = predict_with_tta(prepared.volume, prepared.brain, network, torch_device,
                               precision, tiling, tta, probabilities_dir is not None, cancel,
                               network_progress(0))
    else:
        run = predict_crop(prepared.volume, prepared.brain, network, torch_device, precision,
                           tiling, want_attention, cancel, network_progress(0),
                           with_probabilities=probabilities_dir is not None)
    extent_run = None
    if extent_input is not None:
        extent_run = predict_crop(extent_input, prepared.brain, first_network(source),
                                   torch_device, precision, tiling, False, cancel,
                                   network_progress(1), with_probabilities=False)
    stages.end("network", "network")

    stages.begin("fusion")
    stitched = run.outputs
    classes = fused_classes(stitched)
    if extent_run is not None:
        classes = within_both_whole_tumours(classes, fused_classes(extent_run.outputs))
    label_crop = classes_to_labels(classes, scheme)
    stages.end("fusion", "fusion")

    stages.begin("post-processing")
    post_info: dict = {"enabled": settings.postprocess}
    if settings.postprocess:
        from omnet.postprocessing.pipeline import postprocess as run_postprocess

        label_crop, summary = run_postprocess(label_crop, prepared.volume, scheme)
        post_info.update(removed_voxels=summary.removed_voxels,
                         relabelled_voxels=summary.relabelled_voxels,
                         enhancing_dropped_voxels=summary.enhancing_dropped_voxels)
    share = check_tumour_share(label_crop, prepared.brain, scheme,
                               own_model=not is_bundled(source.path))
    stages.end("post-processing", "postprocessing")

    stages.begin("writing")
    label_image = prepared.restore_image(label_crop, 0, nearest=True, dtype=np.uint8)
    attention: dict[str, sitk.Image] = {}
    attention_info: dict = {}
    if want_attention:
        volumes, attention_info = attention_volumes(stitched)
        attention = attention_images(volumes, prepared.restore_image)
    probabilities = (probability_images(stitched, prepared.restore_image)
                     if probabilities_dir is not None else {})
    files = {"probabilities": write_images(probabilities, probabilities_dir, "probability")
             if probabilities else [],
             "attention": write_images(attention, attention_dir, "attention map")
             if attention else [],
             "brain_mask": [str(write_image(prepared.brain_image(), brain_mask,
                                            BRAIN_MASK_DESCRIPTION))]
             if brain_mask is not None else [], "uncertainty": []}
    if uncertainty is not None:
        files["uncertainty"] = [str(write_image(prepared.restore_image(
            stitched["uncertainty"][0], 0.0, nearest=False, dtype=np.float32), uncertainty,
            UNCERTAINTY_DESCRIPTION))]
    if output is not None:
        write_image(label_image, output, label_description(scheme))
    stages.end("writing", "write")

    volumes_ml = label_volumes_ml(sitk.GetArrayViewFromImage(label_image), scheme,
                                  prepared.reference.GetSpacing())
    stages.timings["total"] = round(time.perf_counter() - stages.start, 3)
    summary = build_report(
        case_id=raw.case_id, output=output, scheme=scheme, volumes_ml=volumes_ml, run=run,
        mode=tiling.mode if tta is None else f"{tiling.mode}, test-time mirroring ({tta})",
        postprocessing=post_info, preparation=prepared.report(),
        model=network.describe(), reference=prepared.reference, box=prepared.box,
        timings=stages.timings, attention=attention_info, files=files,
        settings=settings.to_dict(),
        output_grid="reference" if prepared.on_reference_grid else "network",
        inputs=input_record(case))
    summary["tumour_share_of_brain"] = round(share, 4)
    if report is not None:
        from omnet.measurement.report import measure_image

        summary["lesions"] = measure_image(label_image, scheme).to_dict()   # per-lesion, RANO
        atomic_write_json(report, summary)
    return SegmentationResult(labels=label_image, volumes_ml=volumes_ml, report=summary,
                              attention=attention, probabilities=probabilities,
                              output=Path(output) if output is not None else None, files=files)
