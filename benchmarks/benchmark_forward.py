"""Forward-pass speed of the inference copy of a network on one tile, and where time goes.

Runs the fast-mode network (BatchNorm folded, channels_last_3d, context summed per 2x4x4
cell) on a random input of the given tile shape, twice: the first pass also pays for
allocating its feature maps, the second shows the steady state. Each pass runs inside
:func:`omnet.inference.heap.retained_heap`, as inference does (``--no-heap`` to compare).
Prints seconds and thousands of voxels per second; ``--profile`` adds torch's operator
table.

    python benchmarks/benchmark_forward.py --shape 136 184 144              # a whole brain
    python benchmarks/benchmark_forward.py --shape 136 184 144 --no-heap    # glibc default
    python benchmarks/benchmark_forward.py --shape 64 128 128 --profile
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time

import torch

from omnet.inference.device import resolve_precision
from omnet.inference.heap import retained_heap
from omnet.inference.optimize import inference_copy
from omnet.model import build_model
from omnet.model.context import CoarseWindow


def timed_forward(network: torch.nn.Module, x: torch.Tensor, precision) -> float:
    start = time.perf_counter()
    with torch.inference_mode(), precision.autocast(x.device):
        network(x)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=(64, 128, 128),
                        metavar=("Z", "Y", "X"), help="tile size (multiples of 8)")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--variant", default="omnet-cga")
    parser.add_argument("--precision", default="auto", choices=("auto", "float32"))
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--profile", action="store_true", help="print the operator table")
    parser.add_argument("--no-heap", action="store_true",
                        help="let glibc unmap freed feature maps (omnet.inference.heap off)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = torch.device("cpu")
    precision = resolve_precision(device, args.precision)
    model = build_model(args.variant, width=args.width).eval()
    network = inference_copy(model, device, dtype=precision.dtype)
    network.context_window = CoarseWindow((16, 32, 32), (2, 4, 4))
    x = torch.randn(1, 4, *args.shape).contiguous(memory_format=torch.channels_last_3d)
    voxels = math.prod(args.shape)
    for label in ("first pass", "second pass"):
        with retained_heap(not args.no_heap):
            seconds = timed_forward(network, x, precision)
        print(f"{args.variant} width {args.width} {precision.name} {tuple(args.shape)} "
              f"{label}: {seconds:.2f} s, {voxels / seconds / 1e3:.0f} kvox/s "
              f"({torch.get_num_threads()} threads)")
    # ru_maxrss is in KiB on Linux, bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform ==
                                                                 "darwin" else 2**10)
    print(f"peak RSS of the process: {peak:.0f} MB")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            timed_forward(network, x, precision)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


if __name__ == "__main__":
    main()
