"""Write files so that a stopped or failed run never leaves a partial output behind.

Everything is written to a hidden temporary name in the destination folder and renamed
over the final name only once complete (``os.replace`` is atomic on one file system).
A temporary file that a killed write (SIGKILL, a power cut) left behind is removed by the
next write to the same destination once nothing has touched it for an hour.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_folder", "atomic_path", "atomic_write_bytes", "atomic_write_json",
           "atomic_write_text", "file_sha256", "outermost_missing", "partial_folder",
           "remove_abandoned_partial_folders", "remove_abandoned_partials"]

log = logging.getLogger(__name__)

#: A temporary file untouched for this long belongs to a write that was killed: a running
#: write creates its file just before writing it, and writing changes its modification time.
ABANDONED_AFTER_S = 3600.0
_RANDOM_PART = r"[a-z0-9_]{8}"  # the characters tempfile.mkstemp puts in its names


def _full_suffix(name: str) -> str:
    """``.nii.gz`` for ``a.nii.gz``: writers choose the format from the whole suffix."""
    parts = name.split(".")
    return "." + ".".join(parts[1:]) if len(parts) > 1 else ""


def _partial_prefix(name: str) -> str:
    """``.a.partial-`` for ``a.nii.gz``: the start of its temporary files' names."""
    return f".{name.split('.')[0]}.partial-"


def remove_abandoned_partials(destination: str | os.PathLike,
                              older_than_s: float = ABANDONED_AFTER_S) -> list[Path]:
    """Delete the temporary files of writes to ``destination`` untouched for ``older_than_s``
    (a killed write's leftovers; a fresh one may be another run's write in progress), with a
    log line each; those of other destinations stay. Returns the files removed."""
    destination = Path(destination)
    own = re.compile(re.escape(_partial_prefix(destination.name)) + _RANDOM_PART
                     + re.escape(_full_suffix(destination.name).lower()) + r"\Z")
    return _remove_abandoned(destination.parent, own, False, destination.name, older_than_s)


def remove_abandoned_partial_folders(parent: str | os.PathLike, name: str,
                                     older_than_s: float = ABANDONED_AFTER_S) -> list[Path]:
    """Delete the temporary folders of writes to ``name`` in ``parent`` (see
    :func:`partial_folder`) untouched for ``older_than_s``: what a killed
    :func:`atomic_folder` or header-and-data write left (their files inside are never renamed
    out by anyone)."""
    own = re.compile(re.escape(_partial_folder_prefix(name)) + _RANDOM_PART + r"\Z")
    return _remove_abandoned(Path(parent), own, True, name, older_than_s)


def _partial_folder_prefix(name: str) -> str:
    """``.labels.partial-`` for ``labels``: the start of its temporary folders' names."""
    return f".{name}.partial-"


@contextlib.contextmanager
def partial_folder(parent: str | os.PathLike, name: str) -> Iterator[Path]:
    """A new hidden temporary folder in ``parent`` for the files of a write to ``name``
    (those of killed writes removed first); it is removed on leaving, with whatever the
    caller did not move out of it."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_partial_folders(parent, name)
    tmp = Path(tempfile.mkdtemp(prefix=_partial_folder_prefix(name), dir=parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _with_usual_permissions(path: Path, mode: int) -> None:
    """``mode`` less the process's umask on ``path``: mkstemp and mkdtemp make theirs
    private (0600, 0700), outputs get the permissions a plain write would give them."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def _last_touched(entry: os.DirEntry) -> float:
    """When ``entry`` was last written: for a folder, the latest of it and its files (a file
    written into it for hours leaves the folder's own time at the file's creation)."""
    modified = entry.stat(follow_symlinks=False).st_mtime
    if not entry.is_dir(follow_symlinks=False):
        return modified
    with os.scandir(entry.path) as inside:
        return max([modified, *(e.stat(follow_symlinks=False).st_mtime for e in inside)])


def _remove_abandoned(parent: Path, own: re.Pattern, folders: bool, destination_name: str,
                      older_than_s: float) -> list[Path]:
    """The entries of ``parent`` named by ``own``, files or (``folders``) folders, untouched
    for ``older_than_s``, deleted with a log line each."""
    cutoff = time.time() - older_than_s
    removed = []
    with contextlib.suppress(OSError), os.scandir(parent) as entries:
        for entry in entries:
            if not own.match(entry.name):
                continue
            try:
                is_kind = (entry.is_dir(follow_symlinks=False) if folders
                           else entry.is_file(follow_symlinks=False))
                if not is_kind:
                    continue
                modified = _last_touched(entry)
                if modified > cutoff:
                    continue
                if folders:
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:  # removed meanwhile by another run, or not ours to remove
                continue
            log.info("removed %s, left %.1f h ago by a write to %s that did not finish",
                     entry.path, (time.time() - modified) / 3600, destination_name)
            removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``destination``; rename it there on success.

    The temporary file keeps the destination's suffix, in lower case, so format-sniffing
    writers (SimpleITK, whose NIfTI writer refuses ``.NII.GZ``) pick the right format. On
    any exception, including KeyboardInterrupt, it is removed; those of earlier writes that
    were killed are removed first (:func:`remove_abandoned_partials`).
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_partials(destination)
    fd, tmp_name = tempfile.mkstemp(prefix=_partial_prefix(destination.name),
                                    suffix=_full_suffix(destination.name).lower(),
                                    dir=destination.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _with_usual_permissions(tmp, 0o666)
        os.replace(tmp, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_folder(destination: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``destination`` for files that belong together (a
    model and its split); they land there only once all are written, else none does.

    A new ``destination`` is the temporary folder renamed into place; in an existing one each
    file is renamed over its namesake (other files stay). On any exception the temporary
    folder is removed and ``destination`` is left as it was.
    """
    destination = Path(destination)
    with partial_folder(destination.parent, destination.name) as tmp:
        yield tmp
        _with_usual_permissions(tmp, 0o777)
        if destination.exists():
            for item in sorted(tmp.iterdir()):
                os.replace(item, destination / item.name)
        else:
            os.replace(tmp, destination)


def atomic_write_bytes(destination: str | os.PathLike, data: bytes) -> None:
    with atomic_path(destination) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write_text(destination: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(destination, text.encode("utf-8"))


def atomic_write_json(destination: str | os.PathLike, data: Any) -> None:
    atomic_write_text(destination, json.dumps(data, indent=2, sort_keys=False) + "\n")


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def outermost_missing(folder: Path) -> Path | None:
    """The outermost folder on ``folder``'s path that does not exist yet (None: it exists);
    its parent is the nearest folder that does."""
    missing = None
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing
