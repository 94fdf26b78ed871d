"""``omnet`` command line: one sub-command per module of :mod:`omnet.cli`.

Each command module defines ``register(subparsers)``; heavy imports stay inside the command
functions so ``omnet --help`` is instant. Errors meant for users (:class:`OMNetError`) are
printed as one line and give exit status 2; a cancelled run exits with 128 + the number of
the signal that stopped it (130 for Ctrl-C / SIGINT, 143 for SIGTERM), and one whose
output's reader went away (``omnet evaluate ... --json | head``) quietly with 141.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from omnet import __version__
from omnet.cli.stopping import SignalAbort
from omnet.errors import Cancelled, OMNetError
from omnet.protocol import format_error
from omnet.utils.log import configure_logging

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = ("segment", "evaluate", "measure", "demo", "train", "models")
log = logging.getLogger("omnet")


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line ``omnet: error: ...`` with exit status 2, as
    every other error of the command line (sub-command parsers inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"omnet: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="omnet", description="OM-Net brain tumour segmentation in multi-modal MRI.")
    parser.add_argument("--version", action="version", version=f"omnet {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"omnet.cli.{name}").register(sub)
    return parser


def _reader_gone() -> int:
    """Stdout's reader has closed the pipe: no traceback, now or when Python flushes stdout
    at exit (stdout is pointed at the null device); 141 as for a process killed by SIGPIPE."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    machine = getattr(args, "progress_format", None) == "lines"
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # here, where a closed pipe is caught, rather than at exit
        return status
    except BrokenPipeError:
        return _reader_gone()
    except Cancelled as exc:
        print(f"omnet: cancelled: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt as exc:  # Ctrl-C, or a second stop signal (SignalAbort)
        print("omnet: cancelled", file=sys.stderr)
        return exc.exit_status if isinstance(exc, SignalAbort) else 130
    except OMNetError as exc:
        message = " ".join(str(exc).split())
        if machine:
            print(format_error(message), flush=True)
        print(f"omnet: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
