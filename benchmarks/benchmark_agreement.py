"""Does the default inference compute the function the network was trained as?

For each case, the fused network classes (no post-processing) of three ways to run the
same network: ``fast`` (the default: one tile over the brain's box, CGA/SE over the
window centred on each cell), ``reference`` (the brute force of that function as in
training: 32x64x64 tiles on the box's 8-voxel grid, central 24x48x48 kept; ``--tile`` and
``--keep`` try others; :mod:`omnet.inference.reference`) and, with ``--exact``, the paper's
16x32x32 overlap-tile. ``--precision float32`` separates bfloat16 rounding from the rest.
Prints Dice between them per region and case, their means, and each one's Dice against
the expert labels. Cases are read through the training cache (normalised and cropped
exactly as ``omnet segment`` does).

    python benchmarks/benchmark_agreement.py --model runs/x/model.safetensors \\
        --data cases/ --cases Brats18_2013_2_1 Brats18_TCIA13_623_1 [--exact]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch

from omnet.card import read_card
from omnet.inference.fusion import fused_classes
from omnet.inference.model_source import resolve_model
from omnet.inference.predict import TilingSettings, predict_crop
from omnet.inference.reference import reference_classes
from omnet.preprocessing.crop import brain_mask
from omnet.training.cache import default_cache_dir, open_cached_case
from omnet.training.dataset import prepare_dataset
from omnet.training.validation import region_dice

REGIONS = ("whole", "core", "enhancing")


def _timed(compute, *args, **kwargs):
    """``compute(*args, **kwargs)`` and the seconds it took."""
    started = time.perf_counter()
    result = compute(*args, **kwargs)
    return result, time.perf_counter() - started


def _network(images, brain, model, device, precision: str, mode: str) -> np.ndarray:
    """Fused classes of one ``predict_crop`` run in ``mode`` (fast or exact)."""
    return fused_classes(predict_crop(images, brain, model, device, precision,
                                      settings=TilingSettings(mode=mode),
                                      with_probabilities=False).outputs)


def training_tiles(model_path: str | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The training inputs' size and scored centre (z y x) from the model's card (an
    ensemble's: its first member's).

    Cards without sampling settings mean the bundled recipe's 32 x 64 x 64 inputs scored
    on their central 24 x 48 x 48; a card without a loss margin scored whole inputs.
    """
    sampling = {}
    if model_path and Path(model_path).is_file():
        training = read_card(model_path).training
        members = training.get("ensemble_of") or [{"training": training}]
        sampling = members[0]["training"].get("settings", {}).get("sampling", {}) or {}
    if not sampling:
        return (32, 64, 64), (24, 48, 48)
    tile = tuple(int(v) for v in sampling["patch_size"])
    margin = tuple(int(v) for v in sampling.get("loss_margin", (0, 0, 0)))
    return tile, tuple(t - 2 * m for t, m in zip(tile, margin))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", type=Path, required=True, help="folder of case folders")
    parser.add_argument("--cases", nargs="*", help="case ids (default: all)")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--exact", action="store_true", help="also the paper's overlap-tile")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="auto", choices=("auto", "float32"),
                        help="arithmetic of every way (auto: bfloat16 where the CPU has it)")
    parser.add_argument("--tile", type=int, nargs=3, default=None,
                        help="reference: tile size (z y x); default: the training inputs' "
                             "size in the model's card")
    parser.add_argument("--keep", type=int, nargs=3, default=None,
                        help="reference: central part kept (z y x); default: the card's "
                             "loss region")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    card_tile, card_keep = training_tiles(args.model)
    args.tile, args.keep = args.tile or card_tile, args.keep or card_keep
    print(f"reference tiles {args.tile}, centres kept {args.keep}", flush=True)
    device = torch.device("cpu")
    model = resolve_model(args.model, device)
    dataset = prepare_dataset(args.data, args.cache or default_cache_dir())
    ids = args.cases or sorted(dataset.cases)
    pairs = [("fast", "reference")] + ([("fast", "exact"), ("reference", "exact")]
                                       if args.exact else [])
    rows: dict[tuple[str, str], list[dict[str, float]]] = {p: [] for p in pairs}
    truth: dict[str, list[dict[str, float]]] = {}
    for case_id in ids:
        case = open_cached_case(dataset.cases[case_id])
        images = np.asarray(case.images, dtype=np.float32)
        brain = brain_mask(images)
        maps, seconds = {}, {}
        maps["fast"], seconds["fast"] = _timed(_network, images, brain, model, device,
                                               args.precision, "fast")
        maps["reference"], seconds["reference"] = _timed(
            reference_classes, images, brain, model, device, tile=args.tile, keep=args.keep,
            precision=args.precision)
        if args.exact:
            maps["exact"], seconds["exact"] = _timed(_network, images, brain, model, device,
                                                     args.precision, "exact")
        reference = np.asarray(case.classes)
        for name, classes in maps.items():
            truth.setdefault(name, []).append(region_dice(classes, reference))
        line = [f"{case_id:<24}"]
        for a, b in pairs:
            d = region_dice(maps[a], maps[b])
            rows[(a, b)].append(d)
            line.append(f"{a} vs {b}: " + " / ".join(f"{d[r]:.3f}" for r in REGIONS))
        line.append("s: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
        print("  ".join(line), flush=True)
    print("mean agreement (Dice WT / TC / ET):")
    for pair, values in rows.items():
        print(f"  {pair[0]} vs {pair[1]}: " + " / ".join(
            f"{np.mean([v[r] for v in values]):.3f}" for r in REGIONS)
              + "   min: " + " / ".join(f"{np.min([v[r] for v in values]):.3f}"
                                        for r in REGIONS))
    print("mean Dice against the expert labels (network classes, no post-processing):")
    for name, values in truth.items():
        print(f"  {name}: " + " / ".join(f"{np.mean([v[r] for v in values]):.3f}"
                                         for r in REGIONS))


if __name__ == "__main__":
    main()
