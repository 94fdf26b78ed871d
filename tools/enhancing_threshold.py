"""Enhancing-tumour Dice of a model at other enhancing thresholds than one half, case by case.

The fusion calls a core voxel enhancing when task 3's enhancing probability is above one
half. This re-fuses the saved probabilities of ``omnet segment --no-postprocess
--probabilities PROB`` with other thresholds (and with task 3 averaged with task 2's share
of enhancing in the core), applies the default post-processing and scores each against the
experts, so whether a threshold would lift the enhancing tumour is measured, not guessed.

    omnet segment --input-dir DATA --output-dir PRED --no-postprocess --probabilities PROB
    python tools/enhancing_threshold.py PROB DATA [--thresholds 0.3 0.4 0.5 0.6]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

#: Thresholds tried on task 3's enhancing share by default; 0.5 is what the fusion uses.
DEFAULT_THRESHOLDS = (0.3, 0.4, 0.5, 0.6)
#: Low-grade BraTS case ids (often without enhancing tumour), kept apart in the summary.
LOW_GRADE_PREFIXES = ("Brats18_TCIA10", "Brats18_TCIA13")


def enhancing_rules(task2, task3, thresholds) -> dict:
    """Rule name -> enhancing map (bool) from task 2's and task 3's probabilities."""
    import numpy as np

    from omnet.labels import ENHANCING, NECROTIC

    share3 = task3[1] / np.maximum(task3.sum(axis=0), 1e-6)
    share2 = task2[ENHANCING] / np.maximum(task2[ENHANCING] + task2[NECROTIC], 1e-6)
    rules = {f"task 3 > {t:g}": share3 > t for t in thresholds}
    rules["mean of tasks 2 and 3 > 0.5"] = (share2 + share3) / 2 > 0.5
    return rules


def case_dice(probabilities: Path, case_folder: Path, thresholds) -> dict[str, tuple]:
    """Rule name -> Dice (WT, TC, ET) of one case, post-processed as ``omnet segment`` does."""
    import numpy as np
    import SimpleITK as sitk

    from omnet.data.discovery import find_case_files
    from omnet.data.imageio import load_case
    from omnet.evaluation.metrics import dice
    from omnet.inference.fusion import fuse_decisions, task_decisions
    from omnet.inference.outputs import PROBABILITY_NAMES
    from omnet.labels import BRATS2018, classes_to_labels
    from omnet.postprocessing.pipeline import postprocess
    from omnet.preprocessing.normalize import zscore_nonzero

    def task(name):
        return np.stack([sitk.GetArrayFromImage(sitk.ReadImage(
            str(probabilities / f"{name}_{c}.nii.gz"))) for c in PROBABILITY_NAMES[name]])

    task1, task2, task3 = task("task1"), task("task2"), task("task3")
    files = find_case_files(case_folder, need_seg=True)
    images = zscore_nonzero(load_case(files).images)
    expert = sitk.GetArrayFromImage(sitk.ReadImage(str(files.seg)))
    decisions = task_decisions(task1, task2, task3)
    regions = BRATS2018.regions()
    scores = {}
    for rule, enhancing in enhancing_rules(task2, task3, thresholds).items():
        classes = fuse_decisions(decisions["tumour"], decisions["refined"],
                                 enhancing.astype(np.uint8))
        labels, _ = postprocess(classes_to_labels(classes, BRATS2018), images)
        scores[rule] = tuple(dice(np.isin(labels, values), np.isin(expert, values))
                             for values in regions.values())
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probabilities", type=Path, help="--probabilities folder of a batch")
    parser.add_argument("data", type=Path, help="folder of the same BraTS case folders")
    parser.add_argument("--thresholds", type=float, nargs="+", default=DEFAULT_THRESHOLDS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    folders = sorted(p for p in args.probabilities.iterdir() if p.is_dir()) if (
        args.probabilities.is_dir()) else []
    missing = [f.name for f in folders if not (args.data / f.name).is_dir()]
    if not folders or missing:
        parser.error(f"no case folders of probability maps in {args.probabilities}" if not
                     folders else f"no case folder {missing[0]} in {args.data}")
    table = {f.name: case_dice(f, args.data / f.name, args.thresholds) for f in folders}
    rules = list(next(iter(table.values())))
    print(f"{'rule':28} {'WT':>6} {'TC':>6} {'ET':>6} {'ET high-grade':>14}")
    for rule in rules:
        means = [sum(s[rule][i] for s in table.values()) / len(table) for i in range(3)]
        high = [s[rule][2] for case, s in table.items() if not case.startswith(LOW_GRADE_PREFIXES)]
        high_text = f"{100 * sum(high) / len(high):14.1f}" if high else f"{'-':>14}"
        print(f"{rule:28} " + " ".join(f"{100 * m:6.1f}" for m in means) + " " + high_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
