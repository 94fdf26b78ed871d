"""Signals answered alike by omnet segment and omnet train: a first SIGINT or SIGTERM asks the
work to stop (exit status 128 + the signal), a second of either aborts at once."""

from __future__ import annotations

import os
import signal

import pytest

from omnet.cli.stopping import SignalStop, stop_on_signals


@pytest.mark.parametrize("first, second", [(signal.SIGTERM, signal.SIGTERM),
                                           (signal.SIGINT, signal.SIGTERM),
                                           (signal.SIGTERM, signal.SIGINT)])
def test_a_first_signal_asks_to_stop_and_a_second_aborts(first, second) -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    announced = []
    with pytest.raises(KeyboardInterrupt), stop_on_signals(SignalStop(),
                                                           announced.append) as stop:
        os.kill(os.getpid(), first)
        assert stop.is_set() and stop.exit_status == 128 + first
        assert announced == [first]
        os.kill(os.getpid(), second)
    assert announced == [first]
    assert {sig: signal.getsignal(sig) for sig in before} == before


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_the_abort_of_a_second_signal_exits_with_that_signals_status(monkeypatch, second):
    """A second SIGTERM (a scheduler's, a service manager's) exits 143, as the first one's
    stop does, not Ctrl-C's 130."""
    import argparse

    import omnet.cli

    def work(args) -> int:
        with stop_on_signals(SignalStop(), lambda signum: None):
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), second)
        return 0

    parser = argparse.ArgumentParser()
    parser.set_defaults(func=work, verbose=0)
    monkeypatch.setattr(omnet.cli, "build_parser", lambda: parser)
    monkeypatch.setattr(omnet.cli, "configure_logging", lambda verbosity: None)
    assert omnet.cli.main([]) == 128 + second


def test_a_first_signal_stops_even_when_saying_so_fails() -> None:
    """A print interrupted by the signal makes the handler's own print raise 'reentrant
    call'; the stop is asked for all the same and nothing is raised in the work."""
    def announce(signum: int) -> None:
        raise RuntimeError("reentrant call inside <_io.BufferedWriter name='<stderr>'>")

    with stop_on_signals(SignalStop(), announce) as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.is_set() and stop.exit_status == 130
