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
