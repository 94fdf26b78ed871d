"""A skull-stripped case wrapped in a synthetic skull and scalp, segmented as a raw head.

Writes the case's four sequences with skull, scalp and noisy air around the brain
(:func:`omnet.demo.head.add_synthetic_head`), runs ``omnet.segment`` on it with the default
``--skull-strip auto`` (so detection, HD-BET and the rest of the preparation run) and on
the original, and prints each stage's seconds, what the preparation decided, the Dice of
both against the expert labels and between them, and the whole-tumour volumes. Needs
``pip install "omnet[skullstrip]"``.

    python benchmarks/benchmark_raw_head.py ../shared/data/brats2018/Brats18_2013_2_1
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from omnet import segment
from omnet.demo.head import add_synthetic_head
from omnet.evaluation import dice, region_masks

ROLES = ("flair", "t1", "t1ce", "t2")


def _wrap(case: Path, out: Path) -> Path:
    images = {r: sitk.ReadImage(str(next(case.glob(f"*_{r}.nii.gz")))) for r in ROLES}
    arrays = {r: sitk.GetArrayFromImage(im).astype(np.float32) for r, im in images.items()}
    spacing = images["t1ce"].GetSpacing()[::-1]
    headed = add_synthetic_head(arrays, spacing, seed=1)
    out.mkdir(parents=True, exist_ok=True)
    for role, array in headed.items():
        image = sitk.GetImageFromArray(array)
        image.CopyInformation(images[role])
        sitk.WriteImage(image, str(out / f"head_{role}.nii.gz"))
    return out


def _regions(image: sitk.Image) -> dict[str, np.ndarray]:
    return region_masks(sitk.GetArrayFromImage(image))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", type=Path)
    parser.add_argument("--model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    truth = _regions(sitk.ReadImage(str(next(args.case.glob("*_seg.nii.gz")))))
    with tempfile.TemporaryDirectory() as tmp:
        head = _wrap(args.case, Path(tmp) / "head")
        plain = segment(args.case, None, model=args.model, device="cpu", skull_strip="off")
        raw = segment(head, None, model=args.model, device="cpu")
    for name, result in (("original", plain), ("with skull", raw)):
        print(f"{name}: seconds {json.dumps(result.report['timings_s'])}")
        steps = result.report["preparation"]
        print(f"  preparation: {json.dumps(steps)[:900]}")
        regions = _regions(result.labels)
        print("  Dice vs expert WT / TC / ET: " + " / ".join(
            f"{dice(regions[r], truth[r]):.3f}" for r in ("whole", "core", "enhancing"))
            + f"; whole tumour {result.volumes_ml['whole']:.1f} mL")
    a, b = _regions(plain.labels), _regions(raw.labels)
    print("with skull vs original, Dice WT / TC / ET: " + " / ".join(
        f"{dice(a[r], b[r]):.3f}" for r in ("whole", "core", "enhancing")))


if __name__ == "__main__":
    main()
