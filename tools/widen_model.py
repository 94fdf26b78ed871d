"""Write a model file twice as wide as a trained one, computing (nearly) its function.

    python tools/widen_model.py PREVIOUS.safetensors --out wide.safetensors

Net2WiderNet (``omnet.model.widen``): a CPU cannot train the paper's width 32 from scratch
in reasonable time, but can fine-tune one that starts as a trained width-16 network
(``omnet train --width 32 --init-from wide.safetensors``). The card keeps the narrow
network's training record (its cases stay the fine-tuned model's seen cases) and says that
it was widened.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

import torch

from omnet.model.ensemble import first_member
from omnet.model.weights import load_model, save_model
from omnet.model.widen import widen_network

log = logging.getLogger("widen_model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a single-network model file")
    parser.add_argument("--out", type=Path, required=True, help="model file to write")
    parser.add_argument("--noise", type=float, default=0.01,
                        help="noise on the copied channels' weights, in units of each "
                             "tensor's standard deviation (default 0.01; 0: the same function)")
    parser.add_argument("--seed", type=int, default=0, help="seed of that noise")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    loaded = load_model(args.model)
    if first_member(loaded.model) is not loaded.model:
        parser.error(f"{args.model.name} is an ensemble; take one network out first "
                     "(tools/ensemble_member.py)")
    wide = widen_network(loaded.model, args.noise, torch.Generator().manual_seed(args.seed))
    card = loaded.card
    training = {**card.training, "widened_from": {
        "name": card.name, "file_sha256": loaded.file_sha256, "width": card.model.width,
        "noise": args.noise, "seed": args.seed}}
    card = dataclasses.replace(card, name=f"{card.name}-widened", model=wide.config,
                               training=training, metrics={}, tensors_sha256="",
                               omnet_version="",
                               description=f"{card.name} widened from width "
                                           f"{card.model.width} to {wide.config.width} "
                                           "(Net2WiderNet), not yet fine-tuned")
    save_model(wide, card, args.out)
    log.info("%s (width %d) written to %s with width %d", args.model.name, card.model.width // 2,
             args.out, wide.config.width)


if __name__ == "__main__":
    main()
