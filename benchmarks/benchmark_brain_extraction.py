"""HD-BET brain extraction on real BraTS cases: seconds, mask volume, tumour kept.

For each case folder (BraTS 2018 names) and each sequence role, runs the extractor on that
role alone (and on the extractor's default union) and prints the wall and CPU time (CPU time
counts every thread; on a shared machine it is the steadier figure), the brain volume
in mL and the share of the expert's tumour voxels (seg > 0) inside the mask, the figure that
says whether stripping would cut tumour off. ``--skull`` first wraps the case in the
synthetic skull and scalp of :func:`omnet.demo.head.add_synthetic_head`.

    python benchmarks/benchmark_brain_extraction.py ../shared/data/brats2018/Brats18_2013_2_1
    python benchmarks/benchmark_brain_extraction.py CASE... --roles t1ce flair --threads 2 --skull
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch

from omnet.labels import MODALITIES
from omnet.preparation.hdbet import HDBetExtractor, HDBetSettings


def read_case(folder: Path) -> tuple[dict[str, sitk.Image], np.ndarray]:
    images = {role: sitk.ReadImage(str(folder / f"{folder.name}_{role}.nii.gz"))
              for role in MODALITIES}
    seg = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / f"{folder.name}_seg.nii.gz")))
    return images, seg


def report(name: str, case: str, mask: sitk.Image, seg: np.ndarray, seconds: float,
           cpu_seconds: float) -> None:
    array = sitk.GetArrayViewFromImage(mask) > 0
    volume_ml = array.sum() * np.prod(mask.GetSpacing()) / 1000
    tumour = seg > 0
    kept, lost = (array & tumour).sum(), (~array & tumour).sum()
    print(f"{case:24s} {name:16s} {seconds:6.1f} s ({cpu_seconds:6.1f} CPU-s)  "
          f"brain {volume_ml:6.0f} mL  tumour kept {100 * kept / max(tumour.sum(), 1):6.2f}%  "
          f"({lost} voxels lost)",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", type=Path, help="BraTS 2018 case folders")
    parser.add_argument("--roles", nargs="*", default=list(MODALITIES),
                        help="roles to run alone (default: all four)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--folds", type=int, default=1, help="HD-BET folds (1-5)")
    parser.add_argument("--skull", action="store_true", help="add a synthetic skull and scalp")
    parser.add_argument("--no-union", action="store_true", help="skip the default union")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, folds {args.folds}")
    for folder in args.cases:
        images, seg = read_case(folder)
        if args.skull:
            from omnet.demo.head import add_synthetic_head

            arrays = {role: sitk.GetArrayFromImage(image) for role, image in images.items()}
            with_head = add_synthetic_head(arrays, images["t1"].GetSpacing()[::-1], seed=1)
            for role, array in with_head.items():
                image = sitk.GetImageFromArray(array)
                image.CopyInformation(images[role])
                images[role] = image
        runs = [(role, HDBetSettings(sequences=(role,), folds=args.folds))
                for role in args.roles]
        if not args.no_union:
            runs.append(("+".join(HDBetSettings().sequences), HDBetSettings(folds=args.folds)))
        for name, settings in runs:
            extractor = HDBetExtractor(settings)
            _ = extractor.networks  # load before timing
            start, cpu = time.perf_counter(), time.process_time()
            mask = extractor.extract(images)
            report(name, folder.name, mask, seg, time.perf_counter() - start,
                   time.process_time() - cpu)


if __name__ == "__main__":
    main()
