"""Code that runs in Slicer or its child process keeps to Python 3.9 (Slicer 5.8).

Two checks, both run by ``make test`` under this interpreter and under Python 3.9
(``tools/test_oldest_python.py``): every ``omnet`` module imports and every shipped file
compiles in a fresh interpreter (missing heavy packages stood in for), and a source scan for
what only fails when the line runs: PEP 604 unions evaluated at run time, and calls that
Python 3.9 lacks.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("import_everything.py")
SHIPPED = ("omnet", "OMNetSegmentation", "OMNetTraining", "tools")
SOURCES = sorted(p for folder in SHIPPED for p in (REPO / folder).rglob("*.py")
                 if "__pycache__" not in p.parts)
#: The scan also covers the tests and benchmarks, so the suite itself runs on Python 3.9.
SCANNED = sorted(p for folder in (*SHIPPED, "Testing", "benchmarks")
                 for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts)
#: Names that, either side of ``|``, make it a type union rather than a bitwise or.
TYPE_NAMES = {"int", "float", "str", "bytes", "bool", "list", "dict", "tuple", "set",
              "frozenset", "type", "object", "Path", "PathLike", "Mapping", "Sequence",
              "Callable", "Iterable", "Any"}


def test_every_omnet_module_imports_in_a_fresh_interpreter():
    process = subprocess.run([sys.executable, "-I", str(SCRIPT)], capture_output=True,
                             text=True, timeout=300, check=False)
    assert process.returncode == 0, process.stderr[-3000:]
    result = json.loads(process.stdout.strip().splitlines()[-1])
    assert Path(result["omnet"]) == REPO / "omnet"
    on_disk = {p for p in (REPO / "omnet").rglob("*.py") if "__pycache__" not in p.parts}
    assert len(result["imported"]) == len(on_disk) - 1  # all but __main__
    assert result["compiled"] == len(SOURCES)


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """ids of every node inside an annotation (strings under ``from __future__``)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        annotations = []
        if isinstance(node, (ast.AnnAssign, ast.arg)) and node.annotation is not None:
            annotations.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            annotations.append(node.returns)
        for annotation in annotations:
            inside |= {id(n) for n in ast.walk(annotation)}
    return inside


def _type_like(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is None or isinstance(node.value, str)
    if isinstance(node, ast.Name):
        return node.id in TYPE_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in TYPE_NAMES
    if isinstance(node, ast.Subscript):
        return True  # X[...] | Y: a generic alias
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _type_like(node.left) or _type_like(node.right)
    return False


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def python39_problems(source: str) -> list[str]:
    """Lines that parse on 3.9 but fail there when they run."""
    tree = ast.parse(source)
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                 and any(a.name == "annotations" for a in n.names) for n in tree.body)
    annotations = _annotation_nodes(tree) if future else set()
    class_infos = {id(n) for call in ast.walk(tree) if isinstance(call, ast.Call)
                   and _call_name(call) in ("isinstance", "issubclass")
                   for n in ast.walk(call.args[1]) if len(call.args) > 1}
    problems = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) \
                and id(node) not in annotations:
            if id(node) in class_infos or _type_like(node.left) or _type_like(node.right):
                problems.append(f"{line}: X | Y union evaluated at run time (3.10+)")
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            keywords = {k.arg for k in node.keywords}
            if name == "pairwise":
                problems.append(f"{line}: itertools.pairwise (3.10+)")
            elif name == "zip" and "strict" in keywords:
                problems.append(f"{line}: zip(strict=) (3.10+)")
            elif name in ("dataclass", "field") and keywords & {"slots", "kw_only"}:
                problems.append(f"{line}: dataclass slots=/kw_only= (3.10+)")
            elif name in ("bisect", "bisect_left", "bisect_right", "insort") \
                    and "key" in keywords:
                problems.append(f"{line}: bisect key= (3.10+)")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = {a.name for a in node.names} | {getattr(node, "module", None) or ""}
            for late in ("tomllib", "TypeAlias", "ParamSpec", "Self", "StrEnum", "UTC",
                         "TypeGuard", "batched"):
                if late in names and not _guarded(tree, node):
                    problems.append(f"{line}: {late} (3.10+)")
    return problems


def _guarded(tree: ast.AST, node: ast.AST) -> bool:
    """An import inside ``try``/``except ImportError`` (a fallback exists)."""
    return any(isinstance(t, ast.Try) and node in t.body and t.handlers
               for t in ast.walk(tree))


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: p.relative_to(REPO).as_posix())
def test_code_runs_on_python39(path):
    assert python39_problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("code", [
    "import os\nx = isinstance(1, str | os.PathLike)",
    "from collections.abc import Mapping\nA = int | Mapping[str, int]",
    "def f(x=None):\n    return x if isinstance(x, int | None) else 0",
    "import itertools\npairs = list(itertools.pairwise([1, 2, 3]))",
    "pairs = list(zip([1], [2], strict=True))",
    "from dataclasses import dataclass\n@dataclass(slots=True)\nclass A:\n    x: int = 0",
    "def f(x: int | None = None):\n    return x",  # no __future__: evaluated at def time
])
def test_the_scan_finds_what_fails_on_python39(code):
    assert python39_problems(code), code


@pytest.mark.parametrize("code", [
    "from __future__ import annotations\ndef f(x: int | None = None) -> str | None:\n    pass",
    "import numpy as np\nmask = np.zeros(3, bool) | np.ones(3, bool)",
    "flags = 1 | 2",
    "try:\n    import tomllib\nexcept ModuleNotFoundError:\n    import tomli as tomllib",
])
def test_the_scan_leaves_valid_code_alone(code):
    assert python39_problems(code) == []
