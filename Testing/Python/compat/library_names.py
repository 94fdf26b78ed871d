"""The numpy, scipy, SimpleITK and pydicom names a source uses, and whether they still exist.

The packages Slicer ships change under the extension (Slicer 5.8: numpy 1.26, pydicom 2.4;
Slicer 5.12: numpy 2.4, scipy 1.17, pydicom 3.0), and most code that uses them needs PyTorch,
so the PyTorch-free test runs of ``tools/test_oldest_python.py`` never execute it. Resolving
every dotted name a source reads (``np.in1d``, ``ndimage.label``, ``pydicom.uid.X``) against
the installed packages finds a removed or renamed one without running the code.
"""

from __future__ import annotations

import ast
import importlib
import types
import warnings

#: The packages Slicer ships (``OMNetSegmentationLib.dependencies.SLICER_SHIPPED``).
SHIPPED_PACKAGES = ("numpy", "scipy", "SimpleITK", "pydicom")


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> dotted name, for every import of a shipped package in the source."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in SHIPPED_PACKAGES:
                    local = alias.asname or alias.name.split(".")[0]
                    found[local] = alias.name if alias.asname else local
        elif (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
              and node.module.split(".")[0] in SHIPPED_PACKAGES):
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted shipped-package names an import statement reads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] in SHIPPED_PACKAGES]
    if node.level or not node.module or node.module.split(".")[0] not in SHIPPED_PACKAGES:
        return []
    return [f"{node.module}.{alias.name}" for alias in node.names]


def _dotted(node: ast.expr) -> list[str] | None:
    """``np.linalg.norm`` -> ["np", "linalg", "norm"]; None for anything but names and dots."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def used_names(source: str) -> list[tuple[int, str]]:
    """(line, full dotted name) of each shipped-package name the source imports or reads."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    used = [(node.lineno, dotted) for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for dotted in _imported(node)]
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        # Only the whole chain: np.linalg.norm, not np.linalg again.
        if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)
                and id(node) not in inner):
            parts = _dotted(node)
            if parts and parts[0] in aliases:
                used.append((node.lineno, ".".join([aliases[parts[0]], *parts[1:]])))
    return sorted(set(used))


def problem(dotted: str) -> str | None:
    """Why ``dotted`` does not resolve in the installed packages (missing or deprecated)."""
    parts = dotted.split(".")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            obj = importlib.import_module(parts[0])
        except ImportError as error:
            return f"{parts[0]} is not installed ({error})"
        for index, part in enumerate(parts[1:], start=1):
            if not isinstance(obj, types.ModuleType):
                break  # attributes of classes and functions are not followed
            try:
                obj = getattr(obj, part)
            except AttributeError:
                try:
                    obj = importlib.import_module(".".join(parts[:index + 1]))
                except ImportError:
                    return f"{'.'.join(parts[:index + 1])} does not exist"
    deprecations = [w for w in caught if issubclass(w.category, (DeprecationWarning,
                                                                    FutureWarning))]
    return f"deprecated: {deprecations[0].message}" if deprecations else None
