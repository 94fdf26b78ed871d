"""The guides name real files: every repository path quoted in README.md and ARCHITECTURE.md
exists, so a renamed module cannot leave the reading guide pointing at nothing."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
#: A quoted path into the repository's own folders, up to a ':' or a space.
QUOTED_PATH = re.compile(r"`((?:omnet|tools|benchmarks|Testing|OMNetSegmentation|OMNetTraining)"
                         r"/[A-Za-z0-9_./-]*)")


def quoted_paths(text: str) -> list[str]:
    return sorted({m.group(1).rstrip("/.") for m in QUOTED_PATH.finditer(text)})


@pytest.mark.parametrize("guide", ["README.md", "ARCHITECTURE.md"])
def test_every_quoted_path_exists(guide):
    text = (REPO / guide).read_text(encoding="utf-8")
    paths = quoted_paths(text)
    assert paths, f"{guide} quotes no repository path"
    missing = [p for p in paths if not (REPO / p).exists() and "*" not in p]
    assert missing == [], f"{guide} names files that do not exist: {missing}"


def test_a_missing_path_would_be_found():
    assert quoted_paths("see `omnet/nowhere.py: f` and `tools/x.py`") == [
        "omnet/nowhere.py", "tools/x.py"]
    assert not (REPO / "omnet/nowhere.py").exists()


#: ``omnet COMMAND ...`` as the README shows it: a line of a code block (a line ending in
#: ``\`` goes on) or an inline code span; the options are the words after it that start
#: with a dash, up to a shell comment.
SHOWN_COMMAND = re.compile(r"(?:^|[\s`])omnet (\w+)([^`#\n]*)")
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
#: Commands whose every option the README names (omnet train has dozens of tuning options,
#: which its --help lists; the README names the ones that matter).
DOCUMENTED_IN_FULL = ("segment", "evaluate", "measure", "models", "demo")


def command_options() -> dict[str, set[str]]:
    """Each ``omnet`` command's option strings, from the parser itself."""
    from omnet.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: {o for action in sub._actions for o in action.option_strings}
            for name, sub in commands.choices.items()}


def shown_options(text: str) -> set[tuple[str, str]]:
    """(command, option) for every option an ``omnet`` command line in ``text`` shows."""
    joined = text.replace("\\\n", " ")
    return {(m.group(1), option) for m in SHOWN_COMMAND.finditer(joined)
            for option in OPTION.findall(m.group(2))}


def test_every_option_the_readme_shows_exists_in_its_command():
    options = command_options()
    text = (REPO / "README.md").read_text(encoding="utf-8")
    shown = shown_options(text)
    assert {command for command, _ in shown} >= set(options) - {"models"}, "commands not found"
    unknown = sorted((c, o) for c, o in shown if c in options and o not in options[c])
    assert unknown == [], f"README shows options the commands do not have: {unknown}"


@pytest.mark.parametrize("command", DOCUMENTED_IN_FULL)
def test_the_readme_names_every_option_of_the_command(command):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(OPTION.findall(text))
    parser_actions = command_options()[command] - {"-h", "--help"}
    missing = sorted(o for o in parser_actions if o not in named
                     and not (o == "--output" and "-o" in named))
    assert missing == [], f"omnet {command} --help has options the README never names: {missing}"


def test_an_option_the_command_lacks_would_be_found():
    text = "```sh\nomnet segment CASE -o x.nii.gz \\\n    --no-such-option\n```\n" \
           "and `omnet evaluate a b --jsn` # --comment"
    assert shown_options(text) == {("segment", "-o"), ("segment", "--no-such-option"),
                                   ("evaluate", "--jsn")}
    assert "--no-such-option" not in command_options()["segment"]
