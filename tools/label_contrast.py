"""How bright each expert region is on one sequence, case by case (default: the T1c).

For every case folder with a ``*_seg`` file: the median z-score (over the brain, as the
network's input is normalised) of the sequence inside the experts' enhancing tumour, edema
and necrotic core. An enhancing tumour no brighter on the T1c than its edema is one a
model cannot find by its enhancement; this is how such a label is found.

    python tools/label_contrast.py ../shared/data/brats2018 [--sequence t1ce] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

#: The expert regions measured, as named in omnet.labels' BraTS 2018 scheme.
REGIONS = ("enhancing", "edema", "necrotic")



def case_contrast(folder: Path, sequence: str) -> dict[str, float | int | None]:
    """Median z-score of ``sequence`` in each expert region of one case, and the ET size."""
    import numpy as np
    import SimpleITK as sitk

    from omnet.data.discovery import find_case_files
    from omnet.labels import BRATS2018
    from omnet.preprocessing.normalize import zscore_nonzero

    files = find_case_files(folder, need_seg=True)
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(getattr(files, sequence))))
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(files.seg)))
    z = zscore_nonzero(image[None].astype(np.float32))[0]
    row: dict[str, float | int | None] = {"enhancing_voxels": int((labels == 4).sum())}
    for region in REGIONS:
        inside = labels == getattr(BRATS2018, region)
        row[region] = round(float(np.median(z[inside])), 2) if inside.any() else None
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder of BraTS case folders")
    parser.add_argument("--sequence", default="t1ce", choices=("flair", "t1", "t1ce", "t2"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = {}
    print(f"{'case':28} {'ET voxels':>9} {'ET':>6} {'edema':>6} {'NCR':>6}  (median z)")
    for folder in sorted(p for p in args.data.iterdir() if p.is_dir()):
        row = figures[folder.name] = case_contrast(folder, args.sequence)
        cells = " ".join("     -" if row[r] is None else f"{row[r]:6.2f}" for r in REGIONS)
        flag = "  enhancing no brighter than edema" if (
            row["enhancing"] is not None and row["edema"] is not None
            and row["enhancing"] <= row["edema"]) else ""
        print(f"{folder.name:28} {row['enhancing_voxels']:9d} {cells}{flag}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
