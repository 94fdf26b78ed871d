"""A case handed over as a zip archive (as PACS exports and downloads come) unpacked for reading.

The archive is unpacked into a private temporary folder, removed once the case is read
(:func:`remove_unpacked`) or else when the process ends; a single top-level folder inside it
is taken as the case folder.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from omnet.data.discovery import is_system_entry
from omnet.errors import InputError

__all__ = ["MAX_UNPACKED_BYTES", "is_zip_archive", "remove_unpacked", "unpack_case_archive"]

#: More than any four-sequence case (a 512 x 512 x 400 float64 series is 0.8 GB).
MAX_UNPACKED_BYTES = 8 << 30
#: The temporary folders unpacked and not yet removed.
_UNPACKED: set[Path] = set()


def is_zip_archive(path: Path) -> bool:
    return path.is_file() and zipfile.is_zipfile(path)


def unpack_case_archive(path: Path) -> Path:
    """The case folder inside ``path`` once unpacked; one-line errors for a damaged archive
    or one that would unpack to more than :data:`MAX_UNPACKED_BYTES`."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            size = sum(m.file_size for m in members)
            if size > MAX_UNPACKED_BYTES:
                raise InputError(f"{path.name} would unpack to {size / 2**30:.1f} GB, more than "
                                 "one case holds; unpack it yourself and give the folder")
            target = Path(tempfile.mkdtemp(prefix="omnet-case-"))
            atexit.register(shutil.rmtree, target, True)
            _UNPACKED.add(target)
            archive.extractall(target)  # member names are sanitised: no absolute or .. paths
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InputError(f"cannot unpack {path.name}: {exc}") from None
    entries = [p for p in target.iterdir() if not is_system_entry(p.name)]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target


def remove_unpacked(paths: Iterable[Path]) -> None:
    """Remove the unpacked folders that hold any of ``paths`` (a read case's files): a
    process segmenting many zipped cases (a batch, a notebook loop) would otherwise keep
    every case's images on disk until it ends."""
    for path in paths:
        for target in [t for t in _UNPACKED if Path(path).is_relative_to(t)]:
            _UNPACKED.discard(target)
            shutil.rmtree(target, ignore_errors=True)
