"""Combine trained model files into one ensemble model, written as a run folder.

    python tools/make_ensemble.py RUN_A/model.safetensors RUN_B/model.safetensors \\
        --name omnet-cga-w16 --out runs/ensemble

    python tools/make_ensemble.py AUG.safetensors PLAIN.safetensors THICK.safetensors \\
        --member-inputs any,ordinary,thick --name omnet-cga-w16 --out runs/ensemble

Writes ``OUT/model.safetensors`` (one file, one card, ``model.members`` = the number of
inputs, ``model.member_inputs`` which input each runs on; the card keeps every member's
training record and checksum) and ``OUT/split.json``,
so that ``tools/bundle_model.py OUT ...`` measures and packages it like any training run.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from omnet.model.ensemble import combine_models
from omnet.model.weights import load_model, save_model

log = logging.getLogger("make_ensemble")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path,
                        help="model files; the first also runs thick input's second pass "
                             "alone, so put the one trained with thick-slice augmentation first")
    parser.add_argument("--name", required=True, help="the ensemble's model name")
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    parser.add_argument("--member-inputs", default="",
                        help="comma-separated, one per model: the input each runs on, any, "
                             "ordinary (not four thick-slice series) or thick (only those: "
                             "a thick-slice specialist); default: every model on every input")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    members = [load_model(path) for path in args.models]
    member_inputs = tuple(k.strip() for k in args.member_inputs.split(",") if k.strip())
    ensemble, card = combine_models(members, args.name, member_inputs=member_inputs)
    args.out.mkdir(parents=True, exist_ok=True)
    save_model(ensemble, card, args.out / "model.safetensors")
    data = card.training["data"]
    split = {"train": data["train_cases"], "validation": data["validation_cases"]}
    (args.out / "split.json").write_text(json.dumps(split, indent=2) + "\n")
    log.info("ensemble of %d networks written to %s", len(members), args.out)


if __name__ == "__main__":
    main()
