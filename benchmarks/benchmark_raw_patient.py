"""One patient's raw scanner series against the same patient's BraTS-style pre-processed ones.

Segments both folders with the default options (``--skull-strip auto``, ``--register
auto``: on raw series the preparation stage detects the skull and the misalignment and
does what is needed) and prints each stage's seconds, what the preparation decided, and
the volumes of whole tumour, tumour core and enhancing tumour with the raw-to-prepared
ratio. The two runs lie in different physical frames (scanner vs atlas), so volumes, not
voxels, are compared. Needs ``pip install "omnet[skullstrip]"``.

A public pair: TCGA-FG-6692 in BrainLesion/preprocessing (the four
``example/example_data/OtherEXampleFromTCIA/*.nii.gz`` series: 26 oblique 5.5 mm slices
each, skull on, not co-registered; and the pipeline's own skull-stripped atlas-space
output ``OtherEXampleFromTCIA_brainles/raw_bet/*_bet_raw.nii.gz`` from its history).

``--reference SEG`` (a label map of the pre-processed scans, e.g. BraTS-Toolkit's fusion of
five BraTS 2020 algorithms in the same examples, ``segmentation/fusion/mav.nii.gz``) also
prints Dice WT / TC / ET against it of: the prepared run; the raw run, carried into the
prepared frame by a rigid registration of the raw T1c (inside the brain mask the run
found) onto the prepared T1c; and the prepared run taken onto the raw T1c's grid and back
(nearest neighbour), what a label map on the raw grid can express of it.

    python benchmarks/benchmark_raw_patient.py RAW_DIR PREPARED_DIR [--model m.safetensors] \
        [--reference SEG] [--output-grid network] [--bias-correction]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import SimpleITK as sitk

from omnet import segment
from omnet.data.discovery import find_case_files
from omnet.evaluation import dice
from omnet.evaluation.metrics import paired_region_masks
from omnet.inference.settings import OUTPUT_GRIDS
from omnet.labels import REGION_NAMES
from omnet.preparation.alignment import rigid_register

VOLUMES = ("whole", "core", "enhancing_tumour")
def _dice(labels: sitk.Image, reference: sitk.Image) -> str:
    pairs = paired_region_masks(sitk.GetArrayFromImage(labels),
                                sitk.GetArrayFromImage(reference))
    return " / ".join(f"{dice(*pairs[k]):.3f}" for k in REGION_NAMES)


def raw_to_prepared(raw_t1c: sitk.Image, brain: sitk.Image, prepared_t1c: sitk.Image
                    ) -> sitk.Transform:
    """Rigid transform from prepared-frame points to raw points: the raw T1c inside its
    brain mask registered onto the prepared (skull-stripped) T1c, down to 1 mm."""
    moving = sitk.Mask(sitk.Cast(raw_t1c, sitk.sitkFloat32), sitk.Cast(brain, sitk.sitkUInt8))
    fixed = sitk.Cast(prepared_t1c, sitk.sitkFloat32)
    start = sitk.CenteredTransformInitializer(fixed, moving, sitk.Euler3DTransform(),
                                              sitk.CenteredTransformInitializerFilter.MOMENTS)
    transform, _ = rigid_register(fixed, moving, start, levels_mm=(4.0, 2.0, 1.0),
                                  samples=100_000, iterations=300, name="raw T1c")
    return transform


def compare_with_reference(args, results, folder: Path) -> None:
    """Dice of both runs against ``args.reference`` in the prepared frame (see above)."""
    reference = sitk.ReadImage(str(args.reference))
    prepared_t1c = sitk.ReadImage(str(find_case_files(args.prepared).t1ce))
    raw_t1c = sitk.ReadImage(str(find_case_files(args.raw).t1ce))
    brain = sitk.Resample(sitk.ReadImage(str(folder / "brain.nii.gz")), raw_t1c,
                          sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    transform = raw_to_prepared(raw_t1c, brain, prepared_t1c)
    in_prepared = sitk.Resample(results["raw"].labels, prepared_t1c, transform,
                                sitk.sitkNearestNeighbor, 0)
    moved_brain = sitk.Resample(brain, prepared_t1c, transform, sitk.sitkNearestNeighbor, 0)
    brain_dice = dice(sitk.GetArrayFromImage(moved_brain) > 0,
                      sitk.GetArrayFromImage(prepared_t1c) > 0)
    on_raw_grid = sitk.Resample(results["prepared"].labels, raw_t1c, transform.GetInverse(),
                                sitk.sitkNearestNeighbor, 0)
    round_trip = sitk.Resample(on_raw_grid, prepared_t1c, transform,
                               sitk.sitkNearestNeighbor, 0)
    print(f"against {args.reference.name}, Dice WT / TC / ET (brain masks after the "
          f"registration: Dice {brain_dice:.3f}):")
    rows = (("prepared run", _dice(results["prepared"].labels, reference)),
            ("raw run, in the prepared frame", _dice(in_prepared, reference)),
            ("prepared run through the raw T1c's grid", _dice(round_trip, reference)),
            ("raw run against that", _dice(in_prepared, round_trip)))
    for name, figures in rows:
        print(f"  {name:40} {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="folder of the four raw series")
    parser.add_argument("prepared", type=Path, help="the same patient, pre-processed")
    parser.add_argument("--model")
    parser.add_argument("--labels", type=Path, help="also write the raw run's label map here")
    parser.add_argument("--output-grid", default="reference", choices=OUTPUT_GRIDS,
                        help="where the raw run's outputs go (as omnet segment's)")
    parser.add_argument("--bias-correction", action="store_true",
                        help="N4 on both runs (as omnet segment's)")
    parser.add_argument("--reference", type=Path,
                        help="a label map of the pre-processed scans to measure both runs by")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as scratch:
        run_both(args, Path(scratch))


def run_both(args, scratch: Path) -> None:
    """Segment the prepared and the raw folder, print their figures (and, with
    ``--reference``, both against it); the raw run's brain mask goes to ``scratch``."""
    results = {}
    for name, folder, output in (("prepared", args.prepared, None),
                                 ("raw", args.raw, args.labels)):
        started = time.perf_counter()
        mask = scratch / "brain.nii.gz" if name == "raw" else None
        result = segment(folder, output, model=args.model, device="cpu", brain_mask=mask,
                         bias_correction=args.bias_correction,
                         output_grid=args.output_grid if name == "raw" else "reference")
        seconds = time.perf_counter() - started
        results[name] = result
        stages = json.dumps(result.report["timings_s"])
        print(f"{name}: {seconds:.1f} s end to end; stages {stages}")
        print(f"  preparation: {json.dumps(result.report['preparation'])[:1200]}")
        print("  volumes (mL) " + ", ".join(f"{k} {result.volumes_ml[k]:.1f}" for k in VOLUMES))
    ratios = {k: results["raw"].volumes_ml[k] / max(results["prepared"].volumes_ml[k], 1e-9)
              for k in VOLUMES}
    print("raw / prepared volume: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
          + f"; whole tumour within 35 %: {abs(ratios['whole'] - 1.0) <= 0.35}")
    if args.reference is not None:
        compare_with_reference(args, results, scratch)


if __name__ == "__main__":
    main()
