"""``omnet segment``: segment one case, four explicit files, or every case of a folder.

Heavy imports (torch, SimpleITK) happen inside :func:`run`. SIGINT/SIGTERM set a cancel flag
that the pipeline checks before every layer, so a run stops within seconds and, since every
file is written under a temporary name first, leaves no partial output (exit status 130,
143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from omnet.cli.stopping import SignalStop, exits_as_signalled, stop_on_signals
from omnet.errors import Cancelled, InputError
from omnet.inference.settings import (
    DEVICES,
    LABEL_SETS,
    MATCH_CHOICES,
    MODES,
    OUTPUT_GRIDS,
    PRECISIONS,
    PREPARE_CHOICES,
    TTA_CHOICES,
    SegmentSettings,
    check_attention_without_tta,
)

log = logging.getLogger(__name__)

EXAMPLES = """examples:
  omnet segment Brats18_2013_2_1/ -o tumour.nii.gz
  omnet segment --flair f.nii.gz --t1 t1.nii.gz --t1ce t1c.nii.gz --t2 t2.nii.gz -o out.nii.gz
  omnet segment study/ --t1ce study/series_0007.nii.gz -o tumour.nii.gz
  omnet segment --input-dir cases/ --output-dir results/ --report results/batch.json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "segment", help="segment a brain tumour from FLAIR, T1, T1c and T2",
        description="Segment a brain tumour (BraTS labels) from the four MRI sequences of a "
                    "case. The output has the geometry of the T1c input (unless "
                    "--output-grid says otherwise).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", nargs="?",
                   help="case folder (named files or a DICOM study), a .zip of one, or one 4D "
                        "file (FLAIR, T1w, T1gd, T2w)")
    p.add_argument("-o", "--output",
                   help="label map to write (.nii.gz, .nii, .nrrd, .mha), or a folder to write "
                        "<case>_omnet.nii.gz in (default: ./<case>_omnet.nii.gz)")
    for role, title in (("flair", "FLAIR"), ("t1", "T1"), ("t1ce", "contrast-enhanced T1"),
                        ("t2", "T2")):
        p.add_argument(f"--{role}", metavar="FILE",
                       help=f"{title} image (all four instead of CASE; with CASE, this one "
                            "replaces what CASE would give)")
    p.add_argument("--input-dir", metavar="DIR", help="segment every case folder in DIR")
    p.add_argument("--output-dir", metavar="DIR", help="batch mode: where <case>.nii.gz go")
    p.add_argument("--overwrite", action="store_true",
                   help="batch mode: segment again the cases whose output exists (default: "
                        "skip them)")
    p.add_argument("--model", metavar="FILE", help="OMNet .safetensors model (default: bundled)")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--mode", default="fast", choices=MODES,
                   help="fast: large tiles (default); exact: the paper's overlap-tile of "
                        "16 x 32 x 32 voxels (z, y, x)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto: mixed precision where the device supports it")
    p.add_argument("--no-postprocess", action="store_true",
                   help="skip the post-processing (small components, K-means edema "
                        "relabelling, scant enhancing tumour)")
    p.add_argument("--labels", default="brats2018", choices=LABEL_SETS,
                   help="label values: 1/2/4 (2018) or 1/2/3 (2023) for NCR/ED/ET")
    p.add_argument("--probabilities", metavar="DIR", help="write per-task probability maps")
    p.add_argument("--attention", metavar="DIR", help="write CGA attention maps")
    p.add_argument("--report", metavar="FILE", help="write a JSON report")
    prep = p.add_argument_group(
        "preparation", "how scans as the scanner wrote them become the network's input; the "
        "report says what was done")
    prep.add_argument("--register", nargs="?", const="on", default="auto",
                      choices=PREPARE_CHOICES,
                      help="rigid registration of the other sequences onto the T1c: auto "
                           "(default: when they are found out of line), on (--register "
                           "alone), off")
    prep.add_argument("--skull-strip", default="auto", choices=PREPARE_CHOICES,
                      help="brain extraction: auto (default: when skull and scalp are found), "
                           'on, off; needs pip install "omnet[skullstrip]"')
    prep.add_argument("--bias-correction", action="store_true",
                      help="N4 bias-field correction of every sequence first")
    prep.add_argument("--match-resolution", default="auto", choices=MATCH_CHOICES,
                      help="auto (default): when one sequence has far thicker slices than "
                           "another (a 5 mm FLAIR beside a 1 mm T1c), a second network pass "
                           "with all four at that resolution bounds the whole tumour; with four "
                           "thick series alike, the ensemble's first network does")
    prep.add_argument("--brain-mask", metavar="FILE",
                      help="write the brain mask (1 = brain) on the outputs' grid (the T1c's "
                           "unless --output-grid network); batch mode: a folder (the "
                           "--output-dir one may do), where <case>_brain_mask.nii.gz go")
    prep.add_argument("--output-grid", default="reference", choices=OUTPUT_GRIDS,
                      help="where every output is written: reference (default: the T1c's "
                           "grid, as it was read), network (the 1 mm axis-aligned grid the "
                           "network ran on, around the brain: finer than a thick T1c), or auto "
                           "(network when the T1c's slices are 3 mm or thicker)")
    p.add_argument("--tta", nargs="?", const="all", default=None, choices=TTA_CHOICES,
                   help="test-time augmentation: average the network over mirrored copies "
                        "(all: the 8 mirrorings, about 8x the network time; x: left-right, 2x)")
    p.add_argument("--uncertainty", metavar="FILE",
                   help="write the voxel-wise disagreement between the mirrored predictions "
                        "(0: all agree .. 1: none gives their average's class, before "
                        "post-processing), one case only; "
                        "implies --tta")
    p.add_argument("--progress-format", default="bar", choices=("bar", "lines", "none"))
    p.set_defaults(func=run)


def _announce_stop(signum: int) -> None:
    """What a first SIGINT/SIGTERM does, logged as a warning."""
    log.warning("stopping (signal %d); the case in progress writes no output", signum)


def _check_arguments(args: argparse.Namespace) -> str:
    """Which form was used: ``case``, ``files`` or ``batch``; one-line errors otherwise."""
    files = [args.flair, args.t1, args.t1ce, args.t2]
    forms = [name for name, used in (("CASE", args.case), ("--flair/--t1/--t1ce/--t2",
                                                           any(files)),
                                     ("--input-dir", args.input_dir)) if used]
    if not forms or (args.input_dir and len(forms) > 1):  # CASE + --t1ce: it completes CASE
        raise InputError("give one of: CASE, --flair/--t1/--t1ce/--t2, or --input-dir"
                         + (f" (got {' and '.join(forms)})" if forms else ""))
    check_attention_without_tta(args.attention, args.tta or args.uncertainty)
    if args.input_dir:
        if not args.output_dir:
            raise InputError("--input-dir needs --output-dir")
        if args.output:
            raise InputError("-o/--output is for one case; batch mode writes to --output-dir")
        if args.uncertainty:
            raise InputError("--uncertainty is for one case; use --tta in batch mode")
        from omnet.inference.outputs import WRITABLE_SUFFIXES, check_destinations

        if args.brain_mask and args.brain_mask.lower().endswith(WRITABLE_SUFFIXES):
            raise InputError(f"--brain-mask {args.brain_mask}: in batch mode it names a "
                             "folder, where <case>_brain_mask.nii.gz go")
        check_destinations(files={"the report": args.report})
        return "batch"
    if args.output_dir:
        raise InputError("--output-dir is for batch mode (--input-dir); use -o for one case")
    if args.overwrite:
        raise InputError("--overwrite is for batch mode (--input-dir); -o replaces the file it "
                         "names")
    if args.case is not None or all(files):  # before the model loads (missing flags: later)
        from omnet.data.naming import SEQUENCE_ROLES
        from omnet.inference.sources import check_given_files

        check_given_files(dict(zip(SEQUENCE_ROLES, files)))
    if args.case is not None and not Path(args.case).exists():
        raise InputError(f"input not found: {args.case}")
    from omnet.inference.outputs import check_segment_destinations

    check_segment_destinations(  # before the progress bar: a bad name is the only line
        output=None if _names_a_folder(args.output) else args.output,
        brain_mask=args.brain_mask, uncertainty=args.uncertainty, report=args.report,
        probabilities_dir=args.probabilities, attention_dir=args.attention)
    return "case" if args.case else "files"


def segment_settings(args: argparse.Namespace) -> SegmentSettings:
    """The command line's options as the pipeline's settings record."""
    return SegmentSettings(device=args.device, mode=args.mode, precision=args.precision,
                           postprocess=not args.no_postprocess, labels=args.labels,
                           register=args.register, skull_strip=args.skull_strip,
                           bias_correction=args.bias_correction,
                           match_resolution=args.match_resolution, tta=args.tta,
                           output_grid=args.output_grid)


def preparation_line(preparation: dict, model: dict | None = None) -> str:
    """What the preparation did, in one line for people (``omnet segment``, Slicer); with
    the report's ``model``, also when an ensemble's thick-slice network read the input."""
    from omnet.inference.report import preparation_warnings

    steps = {step["step"]: step for step in preparation.get("steps", [])}
    parts = preparation_warnings(preparation)  # first: they question the whole result
    floors = steps.get("reference grid", {}).get("background_moved_to_zero", {})
    if floors:
        parts.append("background taken as zero: " + ", ".join(
            f"{role} ({value:g})" for role, value in floors.items()))
    aligned = steps.get("alignment", {}).get("sequences", {})
    moved = [f"{role} ({entry['displacement_mm']:.1f} mm)" for role, entry in aligned.items()
             if entry.get("registered")]
    parts.append(f"registered {', '.join(moved)}" if moved else "no registration needed"
                 if steps.get("alignment", {}).get("mode") != "off" else "registration off")
    from omnet.preparation.coverage import PARTIAL_COVERAGE

    covered = steps.get("canonical grid", {}).get("brain_coverage", {})
    partial = [f"{role} covers {share:.0%}" for role, share in covered.items()
               if share < PARTIAL_COVERAGE]
    if partial:  # the network sees zeros where such a series has no slices
        parts.append(f"part of the brain only: {', '.join(partial)}")
    strip = steps.get("skull strip", {})
    parts.append(f"skull stripped ({strip.get('brain_ml', 0):.0f} mL brain)" if strip.get("done")
                 else f"no skull stripping: {strip.get('reason', 'off')}")
    if steps.get("bias field", {}).get("done"):
        parts.append("N4 bias correction")
    grid = steps.get("canonical grid", {})
    if grid.get("interpolated"):
        parts.append(f"resampled onto the network grid: {', '.join(grid['interpolated'])}")
    matching = steps.get("resolution matching", {})
    if matching.get("applied"):
        parts.append(f"whole tumour read at {matching['through']}'s "
                     f"{matching['slice_mm']:g} mm slices")
    elif matching.get("thick_mm"):
        parts.append(f"all four have {matching['thick_mm']:g} mm slices or thicker"
                     + (", read by the thick-slice network"
                        if (model or {}).get("thick_slice_members") else ""))
    outputs = steps.get("output grid", {})
    if outputs:
        parts.append(f"outputs on the network's {outputs['network_mm']:g} mm grid (the T1c's "
                     f"slices are {outputs['reference_slice_mm']:g} mm)")
    return "; ".join(parts)


def label_map_destination(output: str | None, case_id: str) -> str:
    """Where ``-o`` puts the label map: the file it names, or ``<case>_omnet.nii.gz`` in the
    folder it names (an existing folder, one ending in a separator, or a name without a
    suffix, as ``-o results``)."""
    from omnet.data.naming import OUTPUT_SUFFIX

    default_name = f"{case_id}{OUTPUT_SUFFIX}.nii.gz"
    if output is None:
        return default_name
    return str(Path(output) / default_name) if _names_a_folder(output) else output


def _names_a_folder(output: str | None) -> bool:
    return output is not None and (Path(output).is_dir() or output.endswith(("/", os.sep))
                                   or not Path(output).suffix)


def _result_line(result, report: str | None, seconds: float) -> dict:
    from omnet.inference.report import preparation_warnings

    model = result.report["model"]
    return {"output": str(result.output) if result.output else None,
            "volumes_ml": result.volumes_ml, "attention": result.files["attention"],
            "probabilities": result.files["probabilities"], "report": report,
            "model": {"name": model["name"], "sha256": model["sha256"]},
            "device": result.report["device"], "seconds": round(seconds, 2),
            "brain_mask": result.files.get("brain_mask", []),
            "preparation": preparation_line(result.report["preparation"], model),
            "warnings": preparation_warnings(result.report["preparation"]),
            "output_grid": result.report["output_grid"]}


def _run_one(args: argparse.Namespace, form: str, progress, cancel) -> int:
    from omnet.data.naming import case_id_from_file
    from omnet.inference.pipeline import segment
    from omnet.inference.sources import case_input, explicit_case
    from omnet.protocol import format_result

    started = time.perf_counter()
    inputs = (explicit_case(args.flair, args.t1, args.t1ce, args.t2) if form == "files"
              else case_input(args.case, {role: Path(path) for role, path in
                                          (("flair", args.flair), ("t1", args.t1),
                                           ("t1ce", args.t1ce), ("t2", args.t2)) if path}))
    case_id = getattr(inputs, "case_id", None) or case_id_from_file(
        Path(args.t1ce or args.case).name)
    output = label_map_destination(args.output, case_id)
    result = segment(inputs, output, model=args.model, probabilities_dir=args.probabilities,
                     attention_dir=args.attention, report=args.report, progress=progress,
                     cancel=cancel, brain_mask=args.brain_mask, uncertainty=args.uncertainty,
                     settings=segment_settings(args))
    seconds = time.perf_counter() - started
    if args.progress_format == "lines":
        print(format_result(_result_line(result, args.report, seconds)), flush=True)
    else:
        v = result.volumes_ml
        print(f"wrote {output}: whole tumour {v['whole']:.1f} mL, core {v['core']:.1f} mL, "
              f"enhancing {v['enhancing']:.1f} mL ({result.report['device']}, {seconds:.1f} s)")
        print(f"prepared: {preparation_line(result.report['preparation'], result.report['model'])}")
    return 0


def _run_batch(args: argparse.Namespace, progress, cancel) -> int:
    from omnet.inference.batch import segment_folder
    from omnet.inference.batch_history import earlier_cases
    from omnet.inference.device import select_device
    from omnet.inference.model_source import load_for_segment
    from omnet.inference.pipeline import segment
    from omnet.protocol import format_result
    from omnet.utils.atomic import atomic_write_json

    select_device(args.device)  # an unavailable device is said before anything else

    def load_the_model():  # once the destinations and cases are checked
        return load_for_segment(args.model, args.device)

    def write_report(summary) -> None:  # after every case: a killed run leaves its record
        if args.report:
            atomic_write_json(args.report, summary.to_dict())

    summary = segment_folder(args.input_dir, args.output_dir, segment=segment,
                             model_loader=load_the_model,
                             progress=progress, cancel=cancel,
                             probabilities_dir=args.probabilities,
                             attention_dir=args.attention, brain_mask_dir=args.brain_mask,
                             settings=segment_settings(args),
                             on_case=write_report, overwrite=args.overwrite,
                             earlier=earlier_cases(args.report))
    if args.progress_format == "lines":
        data = {k: v for k, v in summary.to_dict().items() if k != "reports"}
        print(format_result({**data, "report": args.report}), flush=True)
    print(f"batch: {summary.line()}")
    for case in summary.failed:
        print(f"omnet: {case.case_id} failed: {case.error}", file=sys.stderr)
    if summary.stopped:
        raise Cancelled("stopped by request; a run with the same arguments goes on from "
                        "where this one stopped")
    return 1 if summary.failed else 0


def run(args: argparse.Namespace) -> int:
    from omnet.utils.progress import make_progress

    form = _check_arguments(args)
    cancel = SignalStop()
    progress = make_progress(args.progress_format, "omnet segment")
    try:
        with stop_on_signals(cancel, _announce_stop), exits_as_signalled(cancel):
            if form == "batch":
                return _run_batch(args, progress, cancel)
            return _run_one(args, form, progress, cancel)
    finally:
        progress.close()


__all__ = ["preparation_line", "register", "run"]
