"""One patient's raw scanner series against the same patient's BraTS-style pre-processed ones.

Segments both folders with the default options (``--skull-strip auto``, ``--register
auto``: on raw series the preparation stage detects the skull and the misalignment and
does what is needed) and prints each stage's seconds, what the preparation decided, and
the volumes of whole tumour, tumour core and enhancing tumour with the raw-to-prepared
ratio. The two runs lie in different physical frames (scanner vs atlas), so volumes, not
voxels, are compared. Needs ``pip install "omnet[skullstrip]"``.

A public pair: TCGA-FG-6692 in BrainLesion/preprocessing (the four
``example/example_data/OtherEXampleFromTCIA/*.nii.gz`` series: 26 oblique 5.5 mm slices
each, skull on, not co-registered; and the pipeline's own skull-stripped atlas-space
output ``OtherEXampleFromTCIA_brainles/raw_bet/*_bet_raw.nii.gz`` from its history).

    python benchmarks/benchmark_raw_patient.py RAW_DIR PREPARED_DIR [--model m.safetensors]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from omnet import segment

VOLUMES = ("whole", "core", "enhancing_tumour")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="folder of the four raw series")
    parser.add_argument("prepared", type=Path, help="the same patient, pre-processed")
    parser.add_argument("--model")
    parser.add_argument("--labels", type=Path, help="also write the raw run's label map here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = {}
    for name, folder, output in (("prepared", args.prepared, None),
                                 ("raw", args.raw, args.labels)):
        started = time.perf_counter()
        result = segment(folder, output, model=args.model, device="cpu")
        seconds = time.perf_counter() - started
        results[name] = result
        stages = json.dumps(result.report["timings_s"])
        print(f"{name}: {seconds:.1f} s end to end; stages {stages}")
        print(f"  preparation: {json.dumps(result.report['preparation'])[:1200]}")
        print("  volumes (mL) " + ", ".join(f"{k} {result.volumes_ml[k]:.1f}" for k in VOLUMES))
    ratios = {k: results["raw"].volumes_ml[k] / max(results["prepared"].volumes_ml[k], 1e-9)
              for k in VOLUMES}
    print("raw / prepared volume: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
          + f"; whole tumour within 35 %: {abs(ratios['whole'] - 1.0) <= 0.35}")


if __name__ == "__main__":
    main()
