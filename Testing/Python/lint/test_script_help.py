"""A script's ``--help`` says what it does in a whole sentence: a description taken from the
first line of its docstring is that docstring's whole first paragraph."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = sorted([*REPO.glob("tools/*.py"), *REPO.glob("benchmarks/*.py")])
FIRST_LINE = "description=__doc__.splitlines()[0]"


def cut_descriptions(paths: list[Path]) -> list[str]:
    """Scripts whose --help shows the first line of a first paragraph of several lines."""
    cut = []
    for path in paths:
        source = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source), clean=False) or ""
        if FIRST_LINE in source and "\n" in doc.strip().split("\n\n")[0]:
            cut.append(path.relative_to(path.parents[1]).as_posix())
    return cut


def test_no_script_cuts_its_description_mid_sentence():
    # write_s4ext.py --help ended "... in Slicer's legacy format, from the"
    assert SCRIPTS
    assert cut_descriptions(SCRIPTS) == []


def test_a_cut_description_would_be_found(tmp_path):
    script = tmp_path / "tools" / "x.py"
    script.parent.mkdir()
    script.write_text(f'"""One sentence over\ntwo lines."""\nimport argparse\n'
                      f'argparse.ArgumentParser({FIRST_LINE})\n')
    assert cut_descriptions([script]) == ["tools/x.py"]

