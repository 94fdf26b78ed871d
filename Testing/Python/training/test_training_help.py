"""``omnet train --help`` states each option's default as the parser and the paper preset
have it, so a researcher reading the help (or the README table copied from it) is not misled."""

from __future__ import annotations

import argparse
import re

import pytest

from omnet.cli import build_parser
from omnet.training.config import preset_config

#: ``(default: X)`` and ``(paper: N)`` as a help text writes them.
STATED_DEFAULT = re.compile(r"\(default: ([^()]*)\)")
PAPER_NUMBER = re.compile(r"\(paper: ([\d.]+)[;)]")


def train_actions() -> list[argparse.Action]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [a for a in commands.choices["train"]._actions if a.option_strings
            and a.help is not argparse.SUPPRESS and a.dest != "help"]


def paper_value(dest: str) -> object:
    """The paper preset's value of a generated ``section__field`` option."""
    section, name = dest.split("__")
    return getattr(getattr(preset_config("paper"), section), name)


def shown(value: object) -> str:
    """A value as a help text writes it (lists space-separated, empty as none)."""
    if isinstance(value, list):
        value = " ".join(map(str, value))
    return "none" if value == "" else str(value)


@pytest.mark.parametrize("action", [a for a in train_actions() if a.default not in
                                    (None, False)], ids=lambda a: a.option_strings[-1])
def test_an_option_with_a_default_states_it(action):
    assert f"(default: {shown(action.default)})" in action.help, action.help


@pytest.mark.parametrize("action", [a for a in train_actions() if "__" in a.dest],
                         ids=lambda a: a.option_strings[-1])
def test_a_setting_states_the_paper_presets_value(action):
    stated = STATED_DEFAULT.findall(action.help)
    assert stated == [shown(paper_value(action.dest))], action.help
    for number in PAPER_NUMBER.findall(action.help):
        value = paper_value(action.dest)
        values = value if isinstance(value, list) else [value]
        assert all(float(v) == float(number) for v in values), action.help


def test_a_wrong_stated_default_would_be_found():
    assert STATED_DEFAULT.findall("x (paper: 0; short runs) (default: 0.0)") == ["0.0"]
    assert PAPER_NUMBER.findall("x (paper: 0; short runs) (default: 0.0)") == ["0"]
    assert shown([16, 32, 32]) == "16 32 32" and shown("") == "none"
