"""Time each step of the preparation stage, and the whole segmentation, on a real case and
on raw-like re-acquisitions of it (oblique slices; thick slices with a T2 out of line).

Prints the seconds of every preparation step (reference grid, alignment, skull strip, bias
field, canonical grid, normalise and crop) and of the pipeline's stages. A benchmark, not a
test: figures depend on the machine. Skull stripping needs ``pip install "omnet[skullstrip]"``
and a raw head; BraTS cases are already stripped (``--skull-strip on`` forces it).

    python benchmarks/benchmark_preparation.py ../shared/data/brats2018/Brats18_2013_2_1 \\
        [--bias-correction] [--skull-strip auto|on|off] [--model m.safetensors]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", type=Path, help="a case folder")
    parser.add_argument("--model")
    parser.add_argument("--bias-correction", action="store_true")
    parser.add_argument("--skull-strip", default="auto", choices=("auto", "on", "off"))
    parser.add_argument("--variants", default="original,oblique,mixed_resolution")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import SimpleITK as sitk

    from omnet import segment
    from omnet.data.discovery import find_case_files
    from omnet.data.imageio import read_case
    from omnet.demo.variants import make_variant

    raw = read_case(find_case_files(args.case))
    for name in args.variants.split(","):
        images = raw.images if name == "original" else make_variant(name, raw.images).images
        if name == "mixed_resolution":  # and the T2 out of line by a head movement
            motion = sitk.Euler3DTransform((120.0, -120.0, 77.0), 0.05, -0.03, 0.04,
                                           (4.0, -3.0, 2.0))
            images = dict(images, t2=sitk.Resample(images["t2"], motion))
        started = time.perf_counter()
        result = segment(images, None, model=args.model, device="cpu",
                         skull_strip=args.skull_strip, bias_correction=args.bias_correction)
        total = time.perf_counter() - started
        prep = result.report["preparation"]
        steps = ", ".join(f"{k} {v:.2f}" for k, v in prep["timings_s"].items())
        stages = ", ".join(f"{k} {v:.2f}" for k, v in result.report["timings_s"].items())
        print(f"{name}: {total:.1f} s; preparation: {steps}; stages: {stages}; "
              f"whole tumour {result.volumes_ml['whole']:.1f} mL", flush=True)


if __name__ == "__main__":
    main()
