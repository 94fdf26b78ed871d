"""Training throughput of OM-Net: patches per second of full training iterations.

Each iteration is what ``omnet train`` does: sample the three tasks' patches (with
augmentation and online transfer), one backbone pass, three cross-entropies, backward, SGD.
Cases come from a dataset (pre-processed into the cache) or, without ``--data``, from
synthetic volumes.

    python benchmarks/benchmark_training.py --width 32 --patches-per-task 2
    python benchmarks/benchmark_training.py --data ../shared/data/brats2018 \
        --cache /tmp/omnet-cache --width 8 --patches-per-task 4
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from omnet.model import build_model
from omnet.training.config import apply_overrides, preset_config
from omnet.training.runtime import resolve_device, resolve_precision
from omnet.training.sampling import TrainingCase, centre_candidates
from omnet.training.schedule import make_plan
from omnet.training.trainer import Trainer


def synthetic_cases(count: int = 4, shape=(96, 128, 128), seed: int = 0) -> list[TrainingCase]:
    """Ellipsoidal 'brains' with a spherical tumour (edema, core, enhancing rim)."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"))
    half = np.array(shape)[:, None, None, None] / 2
    brain = (((grid - half) / (half - 4)) ** 2).sum(0) <= 1
    cases = []
    for k in range(count):
        centre = half[:, 0, 0, 0] + rng.integers(-10, 10, 3)
        r = np.sqrt(((grid - centre[:, None, None, None]) ** 2).sum(0))
        classes = np.where(brain, 4, 0).astype(np.uint8)
        classes[(r < 18) & brain], classes[(r < 10) & brain] = 2, 3
        classes[(r < 7) & brain] = 1
        images = rng.standard_normal((4, *shape)).astype(np.float16) * brain
        cases.append(TrainingCase(f"synthetic{k}", images, classes, centre_candidates(classes)))
    return cases


def dataset_cases(data: Path, cache: Path) -> list[TrainingCase]:
    from omnet.training.cache import open_cached_case
    from omnet.training.dataset import prepare_dataset

    prepared = prepare_dataset(data, cache)
    return [open_cached_case(c) for c in prepared.cases.values()]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", default="omnet-cga")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--patches-per-task", type=int, default=2)
    p.add_argument("--iterations", type=int, default=5, help="timed iterations")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="auto")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--data", type=Path, help="dataset folder (default: synthetic volumes)")
    p.add_argument("--cache", type=Path, help="pre-processing cache for --data")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = apply_overrides(preset_config("paper"), {
        "model": {"variant": args.variant, "width": args.width},
        "sampling": {"patches_per_task": args.patches_per_task},
        "schedule": {"curriculum": False, "stage_unit": "iterations",
                     "stage_lengths": [0, 0, args.warmup + args.iterations]},
        "run": {"checkpoint_every": 10**9, "checkpoint_minutes": 0.0}}).effective().validate()
    cases = (dataset_cases(args.data, args.cache or Path(tempfile.gettempdir()) / "omnet-cache")
             if args.data else synthetic_cases())
    device = resolve_device(args.device)
    precision = resolve_precision(args.precision, device)
    torch.manual_seed(0)
    model = build_model(config.model)
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(config, make_plan(config, len(cases)), model, cases, device=device,
                          precision=precision, checkpoint_dir=Path(folder))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        seconds, patches = [], 0
        for i in range(args.warmup + args.iterations):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            record = trainer.train_step(i)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if i >= args.warmup:
                seconds.append(time.perf_counter() - start)
                patches += record.patches
    total = sum(seconds)
    print(f"variant {args.variant}, width {args.width}, {args.patches_per_task} patches per "
          f"task ({3 * args.patches_per_task} per iteration), device {device}, precision "
          f"{precision.name}, torch threads {torch.get_num_threads()}, "
          f"{'dataset ' + str(args.data) if args.data else 'synthetic volumes'}")
    print(f"seconds per iteration: median {statistics.median(seconds):.3f}, "
          f"min {min(seconds):.3f}, max {max(seconds):.3f} over {len(seconds)} iterations")
    print(f"throughput: {patches / total:.2f} patches/s")
    print(f"peak host memory (RSS): {peak_rss_mb():.0f} MB")
    if device.type == "cuda":
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
