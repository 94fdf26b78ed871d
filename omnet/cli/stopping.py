"""A stop asked for by a signal, and the exit status it gives: 128 + the signal's number, as
a shell reports a process the signal ended (130 for Ctrl-C / SIGINT, 143 for SIGTERM)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

from omnet.errors import Cancelled

__all__ = ["SignalAbort", "SignalStop", "exits_as_signalled", "stop_on_signals"]


class SignalStop(threading.Event):
    """A stop request (an Event the work polls) that remembers the signal that made it."""

    def __init__(self) -> None:
        super().__init__()
        self.signum = int(signal.SIGINT)

    def request(self, signum: int) -> None:
        """Ask the work to stop, because of signal ``signum``."""
        self.signum = int(signum)
        self.set()

    @property
    def exit_status(self) -> int:
        """128 + the signal's number: what a shell shows for a process that signal ended."""
        return 128 + self.signum


class SignalAbort(KeyboardInterrupt):
    """The abort a second signal makes, keeping that signal's exit status (128 + its number:
    143 for SIGTERM), which a plain KeyboardInterrupt would report as Ctrl-C's 130."""

    def __init__(self, signum: int) -> None:
        super().__init__()
        self.exit_status = 128 + int(signum)


@contextlib.contextmanager
def exits_as_signalled(stop: SignalStop) -> Iterator[None]:
    """A :class:`Cancelled` raised in the block leaves with the exit status of the signal
    that asked for the stop (SIGTERM: 143, not Ctrl-C's 130)."""
    try:
        yield
    except Cancelled as exc:
        if stop.is_set():
            exc.exit_status = stop.exit_status
        raise


@contextlib.contextmanager
def stop_on_signals(stop: SignalStop, announce: Callable[[int], None]) -> Iterator[SignalStop]:
    """While in the block, SIGINT and SIGTERM ask the work to stop (``announce`` says what
    will happen) and a second one of either aborts at once (:class:`SignalAbort`), so that
    ``omnet segment`` and ``omnet train`` answer signals alike; the previous handlers come
    back afterwards. Off the main thread (signals cannot be caught there) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame) -> None:
        if stop.is_set():
            raise SignalAbort(signum)
        stop.request(signum)  # first: the stop holds even if saying so fails
        # a print or log line interrupted mid-write raises 'reentrant call' here
        with contextlib.suppress(RuntimeError, OSError):
            announce(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
