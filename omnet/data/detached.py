"""Header and data file pairs (MetaImage ``.mhd``, detached NRRD ``.nhdr``): which data file
a header read names, and which one a write puts beside a header, so that the checks on
where outputs go cover the data file as well as the header."""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["DETACHED_SUFFIXES", "data_file_named", "data_file_written", "detached_suffix"]

#: Formats whose header names a separate data file.
DETACHED_SUFFIXES = (".mhd", ".nhdr")
#: The data file SimpleITK writes (compressed) beside a header: ``labels.mhd`` + ``labels.zraw``.
_WRITTEN_DATA_SUFFIX = {".mhd": ".zraw", ".nhdr": ".raw.gz"}
#: The header line that names the data file; a value with a space or ``%`` (a list of
#: slice files, a numbered pattern) and ``LOCAL`` / ``LIST`` name no single file.
_DATA_FILE_LINE = {".mhd": re.compile(r"^\s*ElementDataFile\s*=\s*(?P<name>\S+)\s*$"),
                   ".nhdr": re.compile(r"^\s*data ?file\s*:\s*(?P<name>\S+)\s*$")}
_HEADER_BYTES = 1 << 16  # a header is text of a few hundred bytes


def detached_suffix(path: str | os.PathLike) -> str | None:
    """The header suffix of ``path`` (``.mhd``, ``.nhdr``), letter case ignored; None for a
    format that keeps its data in the one file."""
    return next((s for s in DETACHED_SUFFIXES if Path(path).name.lower().endswith(s)), None)


def data_file_written(path: str | os.PathLike) -> Path | None:
    """The data file an image written to ``path`` gets beside it (None: one file)."""
    path = Path(path)
    suffix = detached_suffix(path)
    if suffix is None:
        return None
    return path.with_name(path.name[:-len(suffix)] + _WRITTEN_DATA_SUFFIX[suffix])


def data_file_named(header: str | os.PathLike) -> Path | None:
    """The single data file the header ``header`` names (None: not a header, unreadable,
    its data inside it, or in many files)."""
    header = Path(header)
    suffix = detached_suffix(header)
    if suffix is None or not header.is_file():
        return None
    try:
        with open(header, "rb") as f:
            text = f.read(_HEADER_BYTES).decode("latin-1")
    except OSError:
        return None
    for line in text.splitlines():
        found = _DATA_FILE_LINE[suffix].match(line)
        if found:
            name = found["name"]
            if name.upper() in ("LOCAL", "LIST") or "%" in name:
                return None
            return header.parent / name
    return None
