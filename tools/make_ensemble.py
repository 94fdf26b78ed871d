"""Combine trained model files into one ensemble model, written as a run folder.

    python tools/make_ensemble.py RUN_A/model.safetensors RUN_B/model.safetensors \\
        --name omnet-cga-w16 --out runs/ensemble

    python tools/make_ensemble.py AUG.safetensors PLAIN.safetensors THICK.safetensors \\
        --member-inputs any,ordinary,thick --name omnet-cga-w16 --out runs/ensemble

Writes ``OUT/model.safetensors`` (one file, one card, ``model.members`` = the number of
inputs, ``model.member_inputs`` which input each runs on; the card keeps every member's
training record and checksum) and ``OUT/split.json``, both or neither (they are written in
a temporary folder beside OUT first), so that ``tools/bundle_model.py OUT ...`` measures and
packages it like any training run.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from omnet.errors import OMNetError
from omnet.model.ensemble import combine_models
from omnet.model.weights import load_model, save_model
from omnet.utils.atomic import atomic_folder, atomic_write_json

log = logging.getLogger("make_ensemble")


def split_record(training: dict) -> dict:
    """``split.json``'s content from an ensemble card's training record (empty lists where
    the members' cards record no split)."""
    data = training.get("data") or {}
    return {"train": list(data.get("train_cases", [])),
            "validation": list(data.get("validation_cases", []))}


@contextlib.contextmanager
def _without_info_lines(logger_name: str):
    """Hold back a logger's info lines: ``save_model`` names the temporary folder it writes
    in, which is gone once the tool ends."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Exit 0 with the ensemble written; 2 with one line and nothing written when a member
    is not a model file or does not fit the others."""
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    member_inputs = tuple(k.strip() for k in args.member_inputs.split(",") if k.strip())
    try:
        members = [load_model(path) for path in args.models]
        ensemble, card = combine_models(members, args.name, member_inputs=member_inputs)
    except OMNetError as exc:
        print(f"make_ensemble: error: {exc}", file=sys.stderr)
        return 2
    with atomic_folder(args.out) as folder, _without_info_lines("omnet.model.weights"):
        save_model(ensemble, card, folder / "model.safetensors")  # neither file or both
        atomic_write_json(folder / "split.json", split_record(card.training))
    log.info("ensemble of %d networks written to %s: %s (%.1f MB)", len(members), args.out,
             ", ".join(sorted(p.name for p in args.out.iterdir())),
             (args.out / "model.safetensors").stat().st_size / 1e6)
    return 0


if __name__ == "__main__":
    sys.exit(main())
