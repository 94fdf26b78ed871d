"""tools/bundle_model.py stops in one line when a command it runs fails."""

from __future__ import annotations

import sys

import pytest
from script_modules import load_script


def test_a_failed_command_is_one_line_with_its_own_reason():
    # a held-out case that omnet segment refused was a CalledProcessError traceback, and
    # the reason, on the command's captured stderr, was never shown
    tool = load_script("tools/bundle_model.py")
    failing = [sys.executable, "-c",
               "import sys; print('INFO a log line', file=sys.stderr); "
               "print('omnet: case7 failed: no T2 found', file=sys.stderr); sys.exit(1)"]
    with pytest.raises(SystemExit) as stop:
        tool.run(failing)
    message = str(stop.value)
    assert message.startswith("bundle_model: ") and "\n" not in message
    assert message.endswith(" failed: omnet: case7 failed: no T2 found")
