"""Benchmark inference on one real case: fast mode, exact mode, MONAI sliding window.

Each method runs in its own child process (so its peak RSS is its own) on the same case,
with the same network (random weights from a fixed seed, or --model), the same
pre-processing and the same fusion and post-processing; only the network stage differs:

- fast:  ``omnet.segment(mode="fast")``: large tiles, context windows, interiors kept.
- exact: ``omnet.segment(mode="exact")``: the paper's 16x32x32 patches, central 5x20x20 kept.
- fast_fp32 (only if asked for): fast mode in float32, to measure mixed precision.
- monai: ``monai.inferers.sliding_window_inference`` with roi (16, 32, 32) and an overlap
  of (11/16, 12/32, 12/32), i.e. the paper's stride of (5, 20, 20), averaging the patches.

Prints wall time (end to end, and the network stage), peak RSS, ratios to fast mode, and
the agreement of the label maps (Dice per region; both empty counts as 1.0), plus Dice
against the case's reference segmentation.

    python benchmarks/benchmark_inference.py --width 8
    python benchmarks/benchmark_inference.py --width 32 --methods fast
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CASE = REPO.parent / "shared/data/brats2018/Brats18_2013_2_1"
METHODS = ("fast", "exact", "monai")
#: Optional extra method: fast mode forced to float32, to see what mixed precision changes.
EXTRA_METHODS = ("fast_fp32",)
REGIONS = {"whole": (1, 2, 4), "core": (1, 4), "enhancing": (4,)}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _model(args):
    import torch

    from omnet.model import build_model
    from omnet.model.weights import load_model

    if args.model:
        return load_model(args.model).model
    torch.manual_seed(0)
    return build_model("omnet-cga", width=args.width).eval()


def _run_monai(model, case_dir: Path, out: Path, precision: str) -> dict:
    """Our pre-processing, fusion and post-processing around MONAI's sliding window."""
    import torch
    from monai.inferers import sliding_window_inference

    from omnet.data.discovery import find_case_files
    from omnet.data.imageio import load_case
    from omnet.inference.device import resolve_precision
    from omnet.inference.fusion import fuse_tasks
    from omnet.inference.network import make_predictor
    from omnet.inference.outputs import to_image, write_image
    from omnet.labels import classes_to_labels
    from omnet.postprocessing.pipeline import postprocess
    from omnet.preprocessing.prepare import prepare_network_input

    timings = {}
    start = time.perf_counter()
    case = load_case(find_case_files(case_dir))
    prepared = prepare_network_input(case.images)
    volume, box = prepared.volume, prepared.box
    timings["preprocess"] = time.perf_counter() - start
    device = torch.device("cpu")
    model.context_window = None  # per-patch context, as in exact mode
    predict = make_predictor(model, device, resolve_precision(device, precision))

    def predictor(x: torch.Tensor) -> torch.Tensor:
        out = predict(x)
        return torch.cat([out["task1"], out["task2"], out["task3"]], dim=1)

    started = time.perf_counter()
    with torch.inference_mode():
        probabilities = sliding_window_inference(
            torch.from_numpy(volume)[None], roi_size=(16, 32, 32), sw_batch_size=64,
            predictor=predictor, overlap=(11 / 16, 12 / 32, 12 / 32), mode="constant")
    timings["network"] = time.perf_counter() - started
    p = probabilities[0].numpy()
    labels = classes_to_labels(fuse_tasks(p[:5], p[5:10], p[10:12]))
    labels, _ = postprocess(labels, volume)
    write_image(to_image(labels, box, case.reference, 0, np.uint8), out)
    timings["total"] = time.perf_counter() - start
    return timings


def child(args) -> None:
    """Run one method and print its figures as one JSON line."""
    import SimpleITK as sitk
    import torch

    from omnet import segment

    model = _model(args)
    baseline = _peak_rss_mb()
    out = Path(args.work) / f"{args.child}.nii.gz"
    if args.child == "monai":
        timings = _run_monai(model, Path(args.case), out, args.precision)
        device, precision = "cpu", args.precision
    else:
        mode, precision = (("fast", "float32") if args.child == "fast_fp32"
                           else (args.child, args.precision))
        started = time.perf_counter()
        result = segment(args.case, out, model=model, mode=mode, device=args.device,
                         precision=precision)
        timings = dict(result.report["timings_s"], total=time.perf_counter() - started)
        device, precision = result.report["device"], result.report["precision"]
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(out)))
    np.save(Path(args.work) / f"{args.child}.npy", labels)
    print("BENCH " + json.dumps({
        "method": args.child, "seconds": timings["total"], "network_s": timings["network"],
        "peak_rss_mb": _peak_rss_mb(), "baseline_rss_mb": baseline, "device": device,
        "precision": precision, "threads": torch.get_num_threads()}), flush=True)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two boolean masks; 1.0 when both are empty."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def region_dice(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    return {name: dice(np.isin(a, values), np.isin(b, values))
            for name, values in REGIONS.items()}


def _spawn(method: str, args, work: str) -> dict:
    command = [sys.executable, __file__, "--child", method, "--work", work, "--case",
               str(args.case), "--width", str(args.width), "--device", args.device,
               "--precision", args.precision]
    if args.model:
        command += ["--model", str(args.model)]
    print(f"running {method} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")]
    if done.returncode or not lines:
        raise SystemExit(f"{method} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("BENCH "):])


def _reference(case: Path) -> np.ndarray | None:
    import SimpleITK as sitk

    segs = list(case.glob("*seg.nii*"))
    return sitk.GetArrayFromImage(sitk.ReadImage(str(segs[0]))) if segs else None


def report(results: list[dict], work: str, case: Path) -> None:
    base = next((r for r in results if r["method"] == "fast"), results[0])
    print(f"\ncase {case.name}; device {base['device']}, precision {base['precision']}, "
          f"{base['threads']} threads")
    print(f"{'method':<7} {'total s':>8} {'network s':>10} {'peak RSS MB':>12} "
          f"{'time x fast':>12} {'RSS x fast':>11}")
    for r in results:
        print(f"{r['method']:<7} {r['seconds']:8.1f} {r['network_s']:10.1f} "
              f"{r['peak_rss_mb']:12.0f} {r['seconds'] / base['seconds']:12.2f} "
              f"{r['peak_rss_mb'] / base['peak_rss_mb']:11.2f}")
    labels = {r["method"]: np.load(Path(work) / f"{r['method']}.npy") for r in results}
    pairs = [(a, b) for a, b in (("fast", "exact"), ("monai", "exact"), ("fast", "monai"),
                                 ("fast", "fast_fp32"), ("fast_fp32", "exact"))
             if a in labels and b in labels]
    if pairs:
        print("\nagreement (Dice whole / core / enhancing)")
        for a, b in pairs:
            d = region_dice(labels[a], labels[b])
            print(f"  {a} vs {b}: {d['whole']:.4f} / {d['core']:.4f} / {d['enhancing']:.4f}")
    truth = _reference(case)
    if truth is not None:
        print("\nagainst the reference segmentation (Dice whole / core / enhancing)")
        for method, array in labels.items():
            d = region_dice(array, truth)
            print(f"  {method}: {d['whole']:.4f} / {d['core']:.4f} / {d['enhancing']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", type=Path, default=DEFAULT_CASE)
    parser.add_argument("--width", type=int, default=32, help="random model width (paper: 32)")
    parser.add_argument("--model", type=Path, help="an OMNet .safetensors model instead")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="comma-separated subset of fast,exact,monai (and fast_fp32)")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument("--precision", default="auto", choices=("auto", "float32"))
    parser.add_argument("--child", choices=METHODS + EXTRA_METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS + EXTRA_METHODS)
    if unknown:
        parser.error(f"unknown methods: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="omnet-bench-") as work:
        results = [_spawn(m, args, work) for m in methods]
        report(results, work, args.case)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
