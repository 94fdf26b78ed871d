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
#: Commands whose every option the README names (omnet train's in its reference table).
DOCUMENTED_IN_FULL = ("segment", "evaluate", "measure", "models", "demo", "train")


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


#: The README's table of ``omnet train``'s options: one row per option (or options), the
#: last cell the default, then ``;`` and the presets that change it.
TRAIN_TABLE_HEADING = "### Every option of `omnet train`"


def table_defaults(text: str) -> dict[str, str]:
    """Each option of the ``omnet train`` table with the default its row states."""
    table = text[text.index(TRAIN_TABLE_HEADING):].split("\n## ", 1)[0]
    defaults = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) < 3:
            continue
        options = [o for o in OPTION.findall(cells[0]) if o.startswith("--")
                   and not o.startswith("--no-")]
        stated = cells[-1].replace("`", "").split(";")[0]
        parts = stated.split(", ") if len(options) > 1 else [stated]
        defaults.update(zip(options, parts))
    return defaults


def same_default(readme: str, help_default: str) -> bool:
    """Whether a README default and the help's agree (on/off for booleans, 15 for 15.0)."""
    words = {"True": "on", "False": "off"}
    if words.get(help_default, help_default) == readme:
        return True
    try:
        return [float(v) for v in readme.split()] == [float(v) for v in help_default.split()]
    except ValueError:
        return False


def test_the_readme_table_states_the_defaults_of_omnet_train():
    from omnet.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    stated = table_defaults((REPO / "README.md").read_text(encoding="utf-8"))
    wrong = []
    for action in commands.choices["train"]._actions:
        long_option = next((o for o in action.option_strings if o.startswith("--")), None)
        states_default = action.default is not None or "(default:" in (action.help or "")
        if long_option in (None, "--help") or not states_default:
            continue
        found = re.search(r"\(default: ([^()]*)\)", action.help)
        default = found.group(1).split(";")[0] if found else str(action.default)
        if not same_default(stated.get(long_option, "?"), default):
            wrong.append(f"{long_option}: README {stated.get(long_option)!r}, --help {default!r}")
    assert wrong == [], f"the README's omnet train table states other defaults: {wrong}"


def test_a_wrong_default_in_the_table_would_be_found():
    text = (f"{TRAIN_TABLE_HEADING}\n\n| option | what | default |\n| --- | --- | --- |\n"
            "| `--lr` | rate | 0.01; quick 0.05 |\n| `--folds`, `--fold` | folds | 0, 1 |\n"
            "| `--augment` / `--no-augment` | flips | on |\n\n## Next\n| `--seed` | x | 3 |\n")
    assert table_defaults(text) == {"--lr": "0.01", "--folds": "0", "--fold": "1",
                                    "--augment": "on"}
    assert not same_default("0.01", "0.001") and same_default("15", "15.0")
    assert same_default("on", "True") and not same_default("off", "True")
