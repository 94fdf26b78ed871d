"""What a user may pass as a case, turned into what :func:`omnet.data.imageio.read_case` reads."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from omnet.data.discovery import CaseFiles, find_case_files
from omnet.errors import InputError

__all__ = ["case_input", "explicit_case"]


def case_input(inputs: object) -> CaseFiles | Mapping:
    """A case folder, one 4D file, a :class:`CaseFiles`, or a mapping role -> source."""
    if isinstance(inputs, (CaseFiles, Mapping)):
        return inputs
    if isinstance(inputs, (str, os.PathLike)):
        path = Path(inputs)
        if path.is_dir():
            return find_case_files(path)
        if path.is_file():
            return CaseFiles(case_id=path.name.split(".")[0], four_d=path)
        raise InputError(f"input not found: {path}")
    raise InputError(f"cannot segment a {type(inputs).__name__}; pass a case folder, a 4D "
                     "file, or a mapping of flair/t1/t1ce/t2 to files or images")


def explicit_case(flair, t1, t1ce, t2) -> dict[str, Path]:
    """The four ``--flair/--t1/--t1ce/--t2`` files; all four are needed."""
    given = {"flair": flair, "t1": t1, "t1ce": t1ce, "t2": t2}
    missing = [f"--{k}" for k, v in given.items() if v is None]
    if missing:
        raise InputError(f"missing {', '.join(missing)}: give all four sequences")
    return {k: Path(v) for k, v in given.items()}
