"""Dice of a model on real cases and on re-acquired variants of them (thick slices, mixed
resolutions, oblique, sagittal, flipped, other origin; :mod:`omnet.demo.variants`).

For each case: Dice (WT / TC / ET) of the original case's segmentation against the expert
labels, and for each variant the same Dice and the whole-tumour Dice between the variant's
and the original's segmentation, on one grid (``--compare``): ``original`` brings the
variant's label map back onto the original grid by nearest neighbour (a 5 mm label map then
keeps its steps); ``smooth`` brings each of its regions back by linear interpolation cut at
one half, as the expert ceiling below; ``variant`` compares where the variant's answer lives,
the expert labels and the original's segmentation taken onto the variant's grid by nearest
neighbour. Prints a table; ``--json`` also writes the figures.

``--expert-ceiling`` also prints, per variant, the Dice of the expert's own masks seen through
the variant's acquisition (each region's mask re-acquired like an image, brought back by
linear interpolation, cut at one half): what the re-sampling alone costs, whatever the model.

    python tools/measure_variants.py ../shared/data/brats2018 \\
        --cases Brats18_2013_2_1,Brats18_CBICA_AQN_1 [--model m.safetensors] [--variants ...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

REGIONS = ("whole", "core", "enhancing")


def _dice(pred, ref) -> dict[str, float]:
    import SimpleITK as sitk

    from omnet.evaluation import dice, region_masks

    p = region_masks(sitk.GetArrayFromImage(pred))
    r = region_masks(sitk.GetArrayFromImage(ref))
    return {k: round(float(dice(p[k], r[k])), 4) for k in REGIONS}


def expert_ceiling(seg, name: str) -> dict[str, float]:
    """Dice of each region's expert mask against itself re-acquired as variant ``name``."""
    import numpy as np
    import SimpleITK as sitk

    from omnet.demo.variants import make_variant
    from omnet.evaluation import dice, region_masks

    masks = region_masks(sitk.GetArrayFromImage(seg))
    out = {}
    for region in REGIONS:
        image = sitk.GetImageFromArray(masks[region].astype(np.float32) + 1.0)  # 0 is "outside"
        image.CopyInformation(seg)
        seen = make_variant(name, {"t1ce": image}).images["t1ce"]
        back = sitk.Resample(seen, image, sitk.Transform(), sitk.sitkLinear, 0.0,
                             sitk.sitkFloat32)
        out[region] = round(float(dice(sitk.GetArrayFromImage(back) - 1.0 > 0.5,
                                       masks[region])), 4)
    return out


def measure_case(folder: Path, variants: list[str], segment_options: dict,
                 ceiling: bool = False, compare: str = "original") -> dict:
    """Figures for one case folder (four sequences and ``*_seg``)."""
    import SimpleITK as sitk

    from omnet import segment
    from omnet.data.discovery import find_case_files
    from omnet.data.imageio import read_case
    from omnet.demo.variants import make_variant
    from omnet.evaluation import dice, region_masks

    raw = read_case(find_case_files(folder, need_seg=True))
    expert = raw.seg
    started = time.perf_counter()
    original = segment(raw.images, None, **dict(segment_options, output_grid="reference"))
    rows = {"original": {"dice": _dice(original.labels, expert),
                         "seconds": round(time.perf_counter() - started, 1),
                         "whole_ml": original.volumes_ml["whole"]}}
    base = region_masks(sitk.GetArrayFromImage(original.labels))["whole"]
    for name in variants:
        variant = make_variant(name, raw.images, expert)
        started = time.perf_counter()
        result = segment(variant.images, None, **segment_options)
        seconds = time.perf_counter() - started
        if compare == "variant":
            labels, truth = result.labels, variant.seg
            whole_first = region_masks(sitk.GetArrayFromImage(
                variant.forward(original.labels)))["whole"]
        else:
            labels, truth = variant.back(result.labels, smooth=compare == "smooth"), expert
            whole_first = base
        whole = region_masks(sitk.GetArrayFromImage(labels))["whole"]
        rows[name] = {"dice": _dice(labels, truth), "seconds": round(seconds, 1),
                      "whole_vs_original": round(float(dice(whole, whole_first)), 4),
                      "whole_ml": result.volumes_ml["whole"], "compared_on": compare}
        if ceiling:
            rows[name]["expert_ceiling"] = expert_ceiling(expert, name)
    return rows


def main(argv: list[str] | None = None) -> int:
    from omnet.demo.variants import VARIANTS
    from omnet.inference.settings import MATCH_CHOICES, MODES, OUTPUT_GRIDS
    from omnet.training.config import VALIDATION_CASES

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="folder of BraTS case folders")
    parser.add_argument("--cases", default=",".join(VALIDATION_CASES),
                        help="comma-separated case ids (default: the seven validation cases, "
                             "VALIDATION_CASES in omnet/training/config.py)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, of {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--model", help=".safetensors model (default: the bundled one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--mode", default="fast", choices=MODES)
    parser.add_argument("--match-resolution", default="auto", choices=MATCH_CHOICES,
                        help="as omnet segment's (off: measure without the second pass)")
    parser.add_argument("--output-grid", default="reference", choices=OUTPUT_GRIDS,
                        help="as omnet segment's: the variant's label map on its T1c's grid "
                             "(default), on the network's 1 mm grid, or auto (the network's "
                             "for a T1c with 3 mm slices or thicker, as in Slicer)")
    parser.add_argument("--expert-ceiling", action="store_true",
                        help="also the expert masks' Dice against themselves re-acquired")
    parser.add_argument("--compare", default="original", choices=("original", "smooth", "variant"),
                        help="the grid both label maps meet on (see above; default original)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.output_grid != "reference" and args.compare == "variant":
        parser.error(f"--output-grid {args.output_grid} compares on the original's grid: "
                     "--compare original or smooth")
    logging.basicConfig(level=logging.WARNING)
    options = {"model": args.model, "device": args.device, "mode": args.mode,
               "match_resolution": args.match_resolution, "output_grid": args.output_grid}
    figures = {}
    header = f"{'case':22} {'variant':17} {'WT':>6} {'TC':>6} {'ET':>6} {'dWT':>6} " \
             f"{'dTC':>6} {'dET':>6} {'WT~orig':>7} {'WT mL':>7} {'s':>5}"
    print(header)
    for case in args.cases.split(","):
        rows = measure_case(args.data / case, args.variants.split(","), options,
                            args.expert_ceiling, args.compare)
        figures[case] = rows
        first = rows["original"]["dice"]
        for name, row in rows.items():
            d = row["dice"]
            drop = [first[k] - d[k] for k in REGIONS]
            print(f"{case:22} {name:17} {d['whole']:6.3f} {d['core']:6.3f} "
                  f"{d['enhancing']:6.3f} {drop[0]:6.3f} {drop[1]:6.3f} {drop[2]:6.3f} "
                  f"{row.get('whole_vs_original', 1.0):7.3f} {row['whole_ml']:7.1f} "
                  f"{row['seconds']:5.1f}", flush=True)
            if "expert_ceiling" in row:
                c = row["expert_ceiling"]
                print(f"{'':22} {'  expert re-acq.':17} {c['whole']:6.3f} {c['core']:6.3f} "
                      f"{c['enhancing']:6.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
