"""Write one network of an ensemble file as a model file of its own, to fine-tune from.

    python tools/ensemble_member.py omnet/models/omnet-cga-w16.safetensors 2 --out plain.safetensors

The member's card records the ensemble and position it came from (``training.member_of``),
so a network fine-tuned from it (``omnet train --init-from``) and its recipe twin, each
fine-tuned from the same position of its own ensemble, count as one recipe.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from omnet.model.ensemble import member_model
from omnet.model.weights import load_model, save_model

log = logging.getLogger("ensemble_member")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ensemble", type=Path, help="an ensemble model file")
    parser.add_argument("member", type=int, help="which network, counted from 1")
    parser.add_argument("--out", type=Path, required=True, help="model file to write")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    network, card = member_model(load_model(args.ensemble), args.member - 1)
    save_model(network, card, args.out)
    log.info("network %d of %s (%s) written to %s", args.member, args.ensemble.name, card.name,
             args.out)


if __name__ == "__main__":
    main()
