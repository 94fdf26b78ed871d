"""Measure a trained run on its held-out cases and package it as a bundled model.

    python tools/bundle_model.py runs/bundled-w16 --data ../shared/data/brats2018 \
        --name omnet-cga-w16 --out omnet/models --work .bench/bundle-w16

Steps, all through the public commands so the figures are what users get:
1. the run's exported network is stored in half precision (what ships);
2. ``omnet segment --input-dir`` on the run's validation cases (never seen by a training
   step), with and without post-processing;
3. ``omnet evaluate --pred-dir --ref-dir --json`` on both;
4. the model file is written again with the measured figures in its card, and a Markdown
   table of the figures is written next to the work files.

A run trained on every case (``--val-cases --val-fraction 0``) has nothing held out:
``--recipe-twin TWIN.safetensors`` names the model trained with the same recipe without the
validation cases, and the card keeps the twin's held-out figures as ``recipe_heldout``
(``omnet.model.twin``); nothing is measured.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from omnet.model.twin import figures_from_twin
from omnet.model.weights import load_model, save_model

log = logging.getLogger("bundle_model")
REGIONS = ("whole", "core", "enhancing")


def run(command: list[str]) -> str:
    """The standard output of ``command``; a command that fails stops the tool in one line
    with its own last error line (the traceback of CalledProcessError hid why it failed)."""
    log.info("$ %s", " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise SystemExit(f"bundle_model: {' '.join(command[2:4])} failed: {reason}")
    return done.stdout


def segment_and_evaluate(model: Path, cases: Path, work: Path, postprocess: bool,
                         mode: str = "fast", tta: bool = False) -> dict:
    """Segment every held-out case in ``mode`` (with test-time mirroring if ``tta``) and
    evaluate against its reference labels."""
    tag = (("post" if postprocess else "raw") + ("" if mode == "fast" else f"-{mode}")
           + ("-tta" if tta else ""))
    predictions = work / f"pred-{tag}"
    command = [sys.executable, "-m", "omnet", "segment", "--input-dir", str(cases),
               "--output-dir", str(predictions), "--model", str(model), "--device", "cpu",
               "--mode", mode, "--progress-format", "none",
               "--report", str(work / f"segment-{tag}.json"), *(["--tta"] if tta else [])]
    run(command if postprocess else [*command, "--no-postprocess"])
    text = run([sys.executable, "-m", "omnet", "evaluate", "--pred-dir", str(predictions),
                "--ref-dir", str(cases), "--json", "--csv", str(work / f"metrics-{tag}.csv")])
    return json.loads(text)


def figures(evaluation: dict) -> dict:
    """Per-case and mean Dice / HD95 per region from ``omnet evaluate --json``."""
    cases = {}
    for case in evaluation["cases"]:
        if case["status"] != "ok":
            raise SystemExit(f"{case['case']}: {case['status']}")
        cases[case["case"]] = {r: {"dice": round(case["metrics"][r]["dice"], 4),
                                   "hd95": round(case["metrics"][r]["hd95"], 2)}
                               for r in REGIONS}
    mean = evaluation["summary"]["mean"]
    return {"cases": cases, "mean": {r: {"dice": round(mean[r]["dice"], 4),
                                         "hd95": round(mean[r]["hd95"], 2)} for r in REGIONS}}


def markdown(results: dict) -> str:
    lines = ["| case | post-processing | Dice WT | Dice TC | Dice ET | HD95 WT | HD95 TC | "
             "HD95 ET |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for tag, title in (("raw", "off"), ("postprocessed", "on"),
                       ("tta_postprocessed", "on, --tta"),
                       ("exact_postprocessed", "on, exact mode")):
        if tag not in results:
            continue
        rows = {**results[tag]["cases"], "**mean**": results[tag]["mean"]}
        for case, value in rows.items():
            dice = " | ".join(f"{100 * value[r]['dice']:.1f}" for r in REGIONS)
            hd = " | ".join(f"{value[r]['hd95']:.1f}" for r in REGIONS)
            lines.append(f"| {case} | {title} | {dice} | {hd} |")
    return "\n".join(lines) + "\n"


def write_bundled(stored, figures: dict, args: argparse.Namespace) -> Path:
    """Write the half-precision network with its final card: ``figures`` (held-out or
    recipe-twin) beside the run's own validation, defaults and note in its training record."""
    training = {**stored.card.training, **{f"default_{d}": True for d in args.default}}
    if args.note:
        training["note"] = args.note
    metrics = {**figures, "training_validation": stored.card.metrics}
    final = replace(stored.card, name=args.name, training=training, metrics=metrics)
    path = args.out / f"{args.name}.safetensors"
    save_model(stored.model, final, path, storage_dtype="float16")
    return path


def bundle_with_twin(half: Path, twin, args: argparse.Namespace) -> None:
    """Package a run trained on every case, its card holding the twin's held-out figures."""
    stored = load_model(half)
    recipe_heldout = figures_from_twin(stored.card, twin.card, twin.file_sha256)
    (args.work / "heldout.md").write_text(markdown(recipe_heldout))
    path = write_bundled(stored, {"recipe_heldout": recipe_heldout}, args)
    log.info("bundled %s with the held-out figures of %s", path, args.recipe_twin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--data", type=Path, required=True, help="the training data folder")
    parser.add_argument("--name", required=True, help="bundled model name (file stem)")
    parser.add_argument("--out", type=Path, default=Path("omnet/models"))
    parser.add_argument("--work", type=Path, default=Path(".bench/bundle"))
    parser.add_argument("--default", nargs="*", default=["cpu", "gpu"],
                        help="devices for which this model is the default (cpu, gpu)")
    parser.add_argument("--exact", action="store_true",
                        help="also measure exact mode (the paper's overlap-tile), post-processed")
    parser.add_argument("--tta", action="store_true",
                        help="also measure --tta (8 mirrorings), post-processed")
    parser.add_argument("--note", help="a remark on the run's history, kept in the card")
    parser.add_argument("--recipe-twin", type=Path,
                        help="for a run trained on every case: the model trained with the "
                             "same recipe without the validation cases, whose held-out "
                             "figures the card keeps")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    args.work.mkdir(parents=True, exist_ok=True)
    source = load_model(args.run_dir / "model.safetensors")
    half = args.work / f"{args.name}.safetensors"
    save_model(source.model, source.card, half, storage_dtype="float16")

    if args.recipe_twin is not None:
        bundle_with_twin(half, load_model(args.recipe_twin), args)
        return
    split = json.loads((args.run_dir / "split.json").read_text())
    heldout = args.work / "heldout"
    heldout.mkdir(exist_ok=True)
    for case in split["validation"]:
        link = heldout / case
        if not link.exists():
            link.symlink_to((args.data / case).resolve(), target_is_directory=True)

    results = {"cases": split["validation"],
               "raw": figures(segment_and_evaluate(half, heldout, args.work, False)),
               "postprocessed": figures(segment_and_evaluate(half, heldout, args.work, True))}
    if args.tta:
        results["tta_postprocessed"] = figures(
            segment_and_evaluate(half, heldout, args.work, True, tta=True))
    if args.exact:
        results["exact_postprocessed"] = figures(
            segment_and_evaluate(half, heldout, args.work, True, mode="exact"))
    table = markdown(results)
    (args.work / "heldout.md").write_text(table)
    print(table)

    mode = "fast (exact_postprocessed: exact; tta_postprocessed: --tta)"
    heldout_figures = {"heldout": {**results, "mode": mode, "device": "cpu",
                                   "measured_with": "omnet segment --input-dir + omnet evaluate"}}
    # the half-precision network, as it ships
    log.info("bundled %s", write_bundled(load_model(half), heldout_figures, args))


if __name__ == "__main__":
    main()
