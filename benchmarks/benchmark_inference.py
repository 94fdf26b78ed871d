"""Benchmark inference on real cases: fast, fast float32, exact and MONAI's sliding window.

Each method runs on each case in its own child process (so its peak RSS is its own), with
the same network (random weights from a fixed seed and ``--width``, or ``--model``), the same
pre-processing, fusion and post-processing; only the network stage differs:

- fast:       ``omnet.segment(mode="fast")`` in ``--precision`` (auto: bfloat16 where the
              CPU has it, mixed precision on CUDA): one large tile over the brain, context
              windows summed per 2x4x4 cell, BatchNorm folded, channels_last, decisions only.
- fast_fp32:  the same in float32 (what mixed precision changes).
- fast_voxel: fast mode with one context window per voxel instead of per cell (extra).
- exact:      ``omnet.segment(mode="exact")`` in ``--exact-precision`` (float32): the paper's
              16x32x32 patches, central 5x20x20 kept.
- monai:      ``monai.inferers.sliding_window_inference`` driving the unmodified network
              (``--precision``, like fast) with roi (16, 32, 32) and an overlap of (11/16,
              12/32, 12/32), i.e. the paper's stride of (5, 20, 20), averaging the patches.

Prints per case and method: end-to-end seconds (read to write, in process), each stage,
the child's wall time (with interpreter start and imports), peak RSS (and peak GPU memory
on CUDA), ratios to fast; then agreement of the label maps (Dice per region; both empty
counts as 1.0), mean and minimum over the cases, and Dice against the reference labels.

    python benchmarks/benchmark_inference.py --width 32
    python benchmarks/benchmark_inference.py --model m.safetensors --cases 3 \\
        --methods fast,fast_fp32,exact
    python benchmarks/benchmark_inference.py --device cuda --methods fast,monai   # unmeasured
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared/data/brats2018"
DEFAULT_CASE = "Brats18_2013_2_1"
METHODS = ("fast", "fast_fp32", "exact", "monai")
EXTRA_METHODS = ("fast_voxel",)
REGIONS = {"whole": (1, 2, 4), "core": (1, 4), "enhancing": (4,)}
#: The report's ``timings_s`` keys (``omnet/inference/pipeline.py``): "prepare" is the whole
#: preparation stage (resampling and normalisation included).
STAGES = ("load_model", "read", "prepare", "network", "fusion", "postprocessing", "write")
PAIRS = (("fast", "exact"), ("fast", "fast_fp32"), ("fast_fp32", "exact"),
         ("fast_voxel", "exact"), ("fast", "fast_voxel"), ("monai", "exact"),
         ("fast", "monai"))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _random_model_file(width: int, folder: str) -> Path:
    """A randomly initialised OM-Net + CGA (fixed seed) saved as a model file, so every
    method loads its network from a file as ``omnet segment`` does."""
    import torch

    from omnet.card import ModelCard
    from omnet.model import build_model
    from omnet.model.weights import save_model

    torch.manual_seed(0)
    model = build_model("omnet-cga", width=width)
    path = Path(folder) / f"random-w{width}.safetensors"
    save_model(model, ModelCard(name=f"random-omnet-cga-w{width}", model=model.config), path)
    return path


def _run_monai(model_file: Path, case_dir: Path, out: Path, device_name: str,
               precision: str) -> dict:
    """Our pre-processing, fusion and post-processing around MONAI's sliding window."""
    import torch
    from monai.inferers import sliding_window_inference

    from omnet.data.discovery import find_case_files
    from omnet.data.imageio import load_case
    from omnet.inference.device import resolve_precision, select_device
    from omnet.inference.fusion import fuse_tasks
    from omnet.inference.outputs import to_image, write_image
    from omnet.labels import classes_to_labels
    from omnet.model.weights import load_model
    from omnet.postprocessing.pipeline import postprocess
    from omnet.preprocessing.prepare import prepare_network_input

    def lap(key: str, since: float) -> float:
        now = time.perf_counter()
        timings[key] = now - since
        return now

    timings: dict[str, float] = {}
    start = t = time.perf_counter()
    model = load_model(model_file).model
    t = lap("load_model", t)
    case = load_case(find_case_files(case_dir))
    prepared = prepare_network_input(case.images)
    t = lap("read_resample_normalise", t)
    device = select_device(device_name)
    chosen = resolve_precision(device, precision)
    model = model.to(device).eval()
    model.context_window = None  # per-patch context, as in exact mode

    def predictor(x: torch.Tensor) -> torch.Tensor:
        with chosen.autocast(device):
            logits = model(x)
        return torch.cat([torch.softmax(v.float(), dim=1) for v in logits], dim=1)

    with torch.inference_mode():
        volume = torch.from_numpy(prepared.volume)[None].to(device)
        probabilities = sliding_window_inference(
            volume, roi_size=(16, 32, 32), sw_batch_size=64, predictor=predictor,
            overlap=(11 / 16, 12 / 32, 12 / 32), mode="constant")[0].float().cpu().numpy()
    t = lap("network", t)
    p = probabilities
    labels = classes_to_labels(fuse_tasks(p[:5], p[5:10], p[10:12]))
    t = lap("fusion", t)
    labels, _ = postprocess(labels, prepared.volume)
    t = lap("postprocessing", t)
    write_image(to_image(labels, prepared.box, case.reference, 0, np.uint8), out)
    lap("write", t)
    timings["total"] = time.perf_counter() - start
    return {"timings": timings, "device": device.type, "precision": chosen.name,
            "tiles": None}


def _run_segment(model_file: Path, args, out: Path) -> dict:
    from omnet import segment
    from omnet.inference.predict import TilingSettings

    mode = "exact" if args.child == "exact" else "fast"
    precision = {"fast_fp32": "float32", "exact": args.exact_precision}.get(args.child,
                                                                              args.precision)
    tiling = TilingSettings(mode=mode, context_step=None) if args.child == "fast_voxel" \
        else None
    started = time.perf_counter()
    result = segment(args.case, out, model=model_file, mode=mode, device=args.device,
                     precision=precision, tiling=tiling)
    report = result.report
    timings = dict(report["timings_s"], total=time.perf_counter() - started)
    return {"timings": timings, "device": report["device"], "precision": report["precision"],
            "tiles": report["tiles"]}


def child(args) -> None:
    """Run one method on one case and print its figures as one JSON line."""
    import SimpleITK as sitk
    import torch

    out = Path(args.work) / f"{args.child}-{Path(args.case).name}.nii.gz"
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    result = (_run_monai(args.model, Path(args.case), out, args.device, args.precision)
              if args.child == "monai" else _run_segment(args.model, args, out))
    gpu_mb = (torch.cuda.max_memory_allocated() / 2**20 if args.device == "cuda" else None)
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(out)))
    np.save(out.with_suffix("").with_suffix(".npy"), labels)
    print("BENCH " + json.dumps({
        "method": args.child, "case": Path(args.case).name, **result,
        "peak_rss_mb": _peak_rss_mb(), "gpu_peak_mb": gpu_mb,
        "threads": torch.get_num_threads()}), flush=True)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two boolean masks; 1.0 when both are empty."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def region_dice(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    return {name: dice(np.isin(a, values), np.isin(b, values))
            for name, values in REGIONS.items()}


def _spawn(method: str, case: Path, args, work: str) -> dict:
    command = [sys.executable, __file__, "--child", method, "--work", work, "--case-dir",
               str(case), "--model", str(args.model), "--device", args.device,
               "--precision", args.precision, "--exact-precision", args.exact_precision]
    command = shlex.split(args.wrap) + command if args.wrap else command
    print(f"running {method} on {case.name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")]
    if done.returncode or not lines:
        raise SystemExit(f"{method} failed on {case.name}:\n{done.stderr[-3000:]}")
    return dict(json.loads(lines[-1][len("BENCH "):]), process_s=wall)


def _reference(case: Path) -> np.ndarray | None:
    import SimpleITK as sitk

    segs = sorted(case.glob("*seg.nii*"))
    return sitk.GetArrayFromImage(sitk.ReadImage(str(segs[0]))) if segs else None


def _timing_table(rows: list[dict]) -> None:
    base = next((r for r in rows if r["method"] == "fast"), rows[0])
    stages = " ".join(f"{s[:8]:>8}" for s in STAGES)
    print(f"{'method':<10} {'total s':>8} {'x fast':>7} {'process':>8} {'RSS MB':>7} "
          f"{'GPU MB':>7} {'precision':>9} | {stages}")
    for r in rows:
        t = r["timings"]
        values = " ".join(f"{t.get(s, float('nan')):8.2f}" for s in STAGES)
        gpu = f"{r['gpu_peak_mb']:7.0f}" if r["gpu_peak_mb"] is not None else f"{'-':>7}"
        print(f"{r['method']:<10} {t['total']:8.2f} {t['total'] / base['timings']['total']:7.1f} "
              f"{r['process_s']:8.1f} {r['peak_rss_mb']:7.0f} {gpu} {r['precision']:>9} | "
              f"{values}")
    if any(r["method"] == "monai" for r in rows):
        print("  (monai: read, resample and normalise are timed together under 'prepare')")


def report(results: list[dict], work: str, cases: list[Path]) -> dict:
    """Print the tables; return the summary (also written by --json)."""
    for r in results:
        if r["method"] == "monai":
            r["timings"]["prepare"] = r["timings"].pop("read_resample_normalise")
    methods = list(dict.fromkeys(r["method"] for r in results))
    first = results[0]
    print(f"\ndevice {first['device']}, {first['threads']} threads; times are seconds")
    for case in cases:
        print(f"\ncase {case.name}")
        _timing_table([r for r in results if r["case"] == case.name])
    if len(cases) > 1:
        print(f"\nmean over {len(cases)} cases")
        mean_rows = []
        for m in methods:
            rows = [r for r in results if r["method"] == m]
            timings = {k: float(np.mean([r["timings"].get(k, np.nan) for r in rows]))
                       for k in (*STAGES, "total")}
            mean_rows.append(dict(rows[0], timings=timings,
                                  process_s=float(np.mean([r["process_s"] for r in rows])),
                                  peak_rss_mb=max(r["peak_rss_mb"] for r in rows)))
        _timing_table(mean_rows)
    labels = {(m, c.name): np.load(Path(work) / f"{m}-{c.name}.npy")
              for m in methods for c in cases}
    agreement = {}
    pairs = [(a, b) for a, b in PAIRS if a in methods and b in methods]
    if pairs:
        print(f"\nagreement, Dice whole / core / enhancing (mean and min over {len(cases)} "
              "case(s))")
        for a, b in pairs:
            per_case = [region_dice(labels[a, c.name], labels[b, c.name]) for c in cases]
            mean = {k: float(np.mean([d[k] for d in per_case])) for k in REGIONS}
            low = {k: float(np.min([d[k] for d in per_case])) for k in REGIONS}
            agreement[f"{a} vs {b}"] = {"mean": mean, "min": low, "per_case": per_case}
            print(f"  {a + ' vs ' + b:<22} mean {' / '.join(f'{mean[k]:.4f}' for k in REGIONS)}"
                  f"   min {' / '.join(f'{low[k]:.4f}' for k in REGIONS)}")
    truths = {c.name: _reference(c) for c in cases}
    if any(t is not None for t in truths.values()):
        print("\nagainst the reference segmentation, mean Dice whole / core / enhancing")
        for m in methods:
            scores = [region_dice(labels[m, c], t) for c, t in truths.items() if t is not None]
            print(f"  {m:<10} " + " / ".join(f"{np.mean([d[k] for d in scores]):.4f}"
                                             for k in REGIONS))
    return {"results": results, "agreement": agreement}


def _cases(args) -> list[Path]:
    names = args.case or []
    if not names:
        others = sorted(p.name for p in args.data.iterdir()
                        if p.is_dir() and p.name != DEFAULT_CASE)
        names = [DEFAULT_CASE, *others]
    paths = [Path(n) if Path(n).is_dir() else args.data / n for n in names]
    missing = [str(p) for p in paths if not p.is_dir()]
    if missing:
        raise SystemExit(f"case folders not found: {', '.join(missing)}")
    return paths[:args.cases]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of cases")
    parser.add_argument("--case", action="append", help="case folder or name (repeatable); "
                        f"default {DEFAULT_CASE}, then the others in name order")
    parser.add_argument("--cases", type=int, default=1, help="how many cases (agreement is "
                        "averaged over them)")
    parser.add_argument("--width", type=int, default=32, help="random model width (paper: 32)")
    parser.add_argument("--model", type=Path, help="an OMNet .safetensors model instead")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated subset of {','.join(METHODS + EXTRA_METHODS)}")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument("--precision", default="auto", choices=("auto", "float32"),
                        help="precision of fast and monai")
    parser.add_argument("--exact-precision", default="float32", choices=("auto", "float32"))
    parser.add_argument("--wrap", help="command to prefix every child with (e.g. a script "
                        "that pauses other work while one method runs)")
    parser.add_argument("--json", type=Path, help="also write all figures to this file")
    parser.add_argument("--child", choices=METHODS + EXTRA_METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--case-dir", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.case = args.case_dir
        child(args)
        return
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS + EXTRA_METHODS)
    if unknown:
        parser.error(f"unknown methods: {', '.join(sorted(unknown))}")
    cases = _cases(args)
    with tempfile.TemporaryDirectory(prefix="omnet-bench-") as work:
        args.model = args.model or _random_model_file(args.width, work)
        results = [_spawn(m, c, args, work) for c in cases for m in methods]
        summary = report(results, work, cases)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
