"""``omnet train``: train OM-Net on a local dataset, or check the dataset (``--check``).

Every training setting is an option generated from the dataclasses of
:mod:`omnet.training.config`; presets give the starting values.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omnet.cli.stopping import SignalStop, exits_as_signalled, stop_on_signals
from omnet.training.config import PRESETS
from omnet.training.options import add_config_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train OM-Net on a folder of labelled cases",
        description="Train OM-Net on case folders with reference label maps (BraTS naming, "
                    "*_seg / *-seg, or the MSD imagesTr/labelsTr layout). The run folder gets "
                    "config.json, split.json, metrics.csv, validation.csv, curves.png, "
                    "checkpoints/ and the exported model.safetensors with its card "
                    "model.json. Settings default to the paper's "
                    "(--preset paper); --preset quick is a short CPU run; --preset bundled, "
                    "--preset bundled-plain and --preset bundled-thick are the recipes of the "
                    "shipped ensemble's three networks (with --init-from the model they "
                    "fine-tuned).")
    p.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="training cases")
    p.add_argument("-o", "--out", type=Path, help="run folder (required unless --check)")
    p.add_argument("--preset", choices=tuple(PRESETS), default=None,
                   help="starting settings (default: paper; on --resume: the run's)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last good checkpoint")
    p.add_argument("--check", action="store_true",
                   help="only scan and validate the dataset; train nothing")
    p.add_argument("--cache", type=Path, default=None,
                   help="pre-processing cache folder (default: $OMNET_CACHE_DIR, else "
                        "$XDG_CACHE_HOME/omnet/training, else ~/.cache/omnet/training)")
    p.add_argument("--progress-format", choices=("bar", "lines", "none"), default="bar",
                   help="bar: a progress bar for people; lines: PROGRESS/METRIC/RESULT lines for "
                        "programs (the Slicer module); none: neither (default: bar)")
    add_config_options(p)
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> int:
    """The table (or RESULT line) of every case; 1 when no case is usable, and with
    ``--strict`` the line a strict run would stop with (exit 2) when any case has a problem,
    so that a script's pre-flight check fails where the run would."""
    from omnet.protocol import format_result
    from omnet.training.dataset import check_dataset, format_check_table, strict_refusal
    from omnet.training.options import overrides_from_args
    from omnet.utils.progress import make_progress

    lines = args.progress_format == "lines"
    rows = check_dataset(args.data_dir, make_progress("lines") if lines else None)
    if lines:
        print(format_result({"cases": [r.to_dict() for r in rows]}), flush=True)
    else:
        print(format_check_table(rows))
    problems = [(r.case, r.problem or "") for r in rows if not r.ok]
    if overrides_from_args(args).get("data", {}).get("strict") and problems:
        raise strict_refusal(problems)
    return 0 if any(r.ok for r in rows) else 1


def _announce_stop(signum: int) -> None:
    """What a first SIGINT/SIGTERM does, said on stderr as the run's other one-line notes."""
    print("omnet: stopping after the case being prepared or the iteration in progress "
          "(again to abort)", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if args.check:
        return _check(args)
    from omnet.errors import InputError

    if args.out is None:
        raise InputError("omnet train needs --out RUN_DIR (or --check)")
    from omnet.protocol import format_result
    from omnet.training.options import overrides_from_args
    from omnet.training.run import resolve_config, train

    config = resolve_config(args.out, args.preset, overrides_from_args(args), args.resume)
    with stop_on_signals(SignalStop(), _announce_stop) as stop, exits_as_signalled(stop):
        result = train(args.data_dir, args.out, config, resume=args.resume,
                       cache_dir=args.cache, progress_format=args.progress_format, stop=stop)
    if result.model is None:  # not rank 0 of a distributed run
        return 0
    summary = {"model": str(result.model), "run_dir": str(result.run_dir),
               "iterations": result.iterations, "dice": result.best_dice}
    if args.progress_format == "lines":
        print(format_result(summary), flush=True)
    else:
        dice = ", ".join(f"{k} {v:.3f}" for k, v in result.best_dice.items()) or "not measured"
        print(f"model: {result.model}\nvalidation Dice: {dice}")
    return 0
