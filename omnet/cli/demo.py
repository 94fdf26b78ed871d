"""``omnet demo``: make a synthetic BraTS-like case, segment it, evaluate it, draw it.

Exit status 0 when the case was segmented and evaluated; 2 (one line) when it could not be
segmented, e.g. without a model: the case, its overlay and the report are written anyway.
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)

EPILOG = """\
writes into DIR (default demo-output):
  demo/demo_{flair,t1,t1ce,t2}.nii.gz   the synthetic case, BraTS 2018 names
  demo/demo_seg.nii.gz                  its true label map (0/1/2/4)
  demo_prediction.nii.gz                the segmentation
  demo_overlay.png                      three slices through the tumour
  demo_report.json                      settings, metrics, model and timings

examples:
  omnet demo -o demo-output
  omnet demo -o demo-output --model my_model.safetensors --device cpu
  omnet demo -o small --size 96 96 62 --seed 7 --no-segment
  omnet demo -o head --skull          # a case with skull and scalp (tests skull stripping)"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="segment a synthetic BraTS-like case and evaluate the result",
        description="Generate a synthetic BraTS-like case (seeded), segment it with the "
                    "bundled model (or --model), evaluate it against its true labels and "
                    "draw an overlay.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output-dir", default="demo-output", metavar="DIR",
                   help="output folder (default demo-output)")
    p.add_argument("--seed", type=int, default=2018, help="random seed (default 2018)")
    p.add_argument("--size", type=int, nargs=3, default=(240, 240, 155), metavar=("X", "Y", "Z"),
                   help="grid size over a 240 x 240 x 155 mm field of view (default "
                        "240 240 155 = 1 mm voxels; smaller is coarser and faster)")
    p.add_argument("--skull", action="store_true",
                   help="wrap the brain in a synthetic skull and scalp, as in a scan that was "
                        "not skull-stripped (the brain and its labels are unchanged)")
    p.add_argument("--model", metavar="FILE", help="model file (.safetensors); default: bundled")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--mode", choices=("fast", "exact"), default="fast",
                   help="inference mode (see omnet segment --help)")
    p.add_argument("--no-segment", action="store_true",
                   help="only write the case, its overlay and the report")
    p.add_argument("--progress-format", choices=("bar", "lines", "none"), default="bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from omnet.demo.generator import DemoSettings
    from omnet.demo.run import ensure_output_dir, run_demo
    from omnet.errors import InputError, OMNetError
    from omnet.evaluation.report import case_table
    from omnet.utils.progress import make_progress

    try:
        settings = DemoSettings(size=tuple(args.size), seed=args.seed, skull=args.skull)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    ensure_output_dir(args.output_dir)
    progress = make_progress(args.progress_format, "demo")
    try:
        result = run_demo(args.output_dir, settings, model=args.model, device=args.device,
                          mode=args.mode, segment=not args.no_segment, progress=progress)
    finally:
        progress.close()
    print(f"demo case:   {result.case_files['flair'].parent}")
    print(f"true labels: {result.case_files['seg']}")
    if result.prediction is not None:
        print(f"prediction:  {result.prediction}")
    if result.overlay is not None:
        print(f"overlay:     {result.overlay}")
    print(f"report:      {result.report_path}")
    if result.evaluation is not None:
        print(case_table(result.evaluation))
        return 0
    if args.no_segment:
        return 0
    raise OMNetError(result.problem or "the demo case was not segmented")
