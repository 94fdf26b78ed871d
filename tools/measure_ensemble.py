"""Dice of each model alone and of their ensemble (task probabilities averaged before the
fusion) on real cases, optionally re-acquired as a variant (:mod:`omnet.demo.variants`).

A measuring tool for recipe decisions: it runs the members side by side without building
an ensemble file (``tools/make_ensemble.py`` builds one that ``omnet segment`` runs). Fast
mode, post-processing on, resolution matching off.

    python tools/measure_ensemble.py DATA --cases A,B \\
        --models omnet/models/omnet-cga-w16.safetensors RUN/model.safetensors [--variant V]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

REGIONS = ("whole", "core", "enhancing")


def segment_with(models: list, images, members: dict[str, list[int]]) -> dict:
    """Label images (reference grid) per named member set (indices into ``models``)."""
    import numpy as np
    import torch

    from omnet.inference.fusion import fuse_tasks
    from omnet.inference.predict import TilingSettings, predict_crop
    from omnet.labels import classes_to_labels, get_scheme
    from omnet.postprocessing.pipeline import postprocess
    from omnet.preparation import PrepareSettings, prepare

    scheme = get_scheme("brats2018")
    prepared = prepare(images, PrepareSettings(match_resolution="off"))
    outputs = [predict_crop(prepared.volume, prepared.brain, model, torch.device("cpu"),
                            "auto", TilingSettings(mode="fast")).outputs for model in models]
    labels = {}
    for name, chosen in members.items():
        probabilities = [np.mean([outputs[i][f"task{t}"] for i in chosen], axis=0)
                         for t in (1, 2, 3)]
        label_crop, _ = postprocess(classes_to_labels(fuse_tasks(*probabilities), scheme),
                                    prepared.volume, scheme)
        labels[name] = prepared.restore_image(label_crop, 0, nearest=True, dtype=np.uint8)
    return labels


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import SimpleITK as sitk
    import torch

    from omnet.data.discovery import find_case_files
    from omnet.data.imageio import read_case
    from omnet.demo.variants import make_variant
    from omnet.evaluation import dice, region_masks
    from omnet.inference.model_source import resolve_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="folder of BraTS case folders")
    parser.add_argument("--cases", required=True, help="comma-separated case ids")
    parser.add_argument("--models", nargs="+", required=True, help=".safetensors files")
    parser.add_argument("--variant", help="re-acquire each case first (thick_axial, ...)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    models = [resolve_model(path, torch.device("cpu")) for path in args.models]
    members = {Path(p).parent.name if Path(p).name == "model.safetensors" else Path(p).stem:
               [i] for i, p in enumerate(args.models)}
    members["ensemble"] = list(range(len(models)))
    scores: dict[str, list] = {name: [] for name in members}
    for case in args.cases.split(","):
        raw = read_case(find_case_files(args.data / case, need_seg=True))
        if args.variant:
            variant = make_variant(args.variant, raw.images, raw.seg)
            labels = {k: variant.back(v) for k, v in
                      segment_with(models, variant.images, members).items()}
        else:
            labels = segment_with(models, raw.images, members)
        expert = region_masks(sitk.GetArrayFromImage(raw.seg))
        line = []
        for name, image in labels.items():
            masks = region_masks(sitk.GetArrayFromImage(image))
            row = [float(dice(masks[k], expert[k])) for k in REGIONS]
            scores[name].append(row)
            line.append(f"{name} {row[0]:.3f}/{row[1]:.3f}/{row[2]:.3f}")
        print(f"{case:22} " + "  ".join(line), flush=True)
    for name, rows in scores.items():
        mean = np.mean(rows, axis=0)
        print(f"mean {name}: WT {mean[0]:.4f} TC {mean[1]:.4f} ET {mean[2]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
