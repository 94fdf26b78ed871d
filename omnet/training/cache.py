"""Pre-process each training case once into a compact, memory-mapped cache.

A cached case is a folder ``<cache>/<case id>-<hash of its source paths>/`` holding
``images.npy`` (4, z, y, x) float16 z-scored intensities cropped to the brain,
``classes.npy`` (z, y, x) uint8 network classes (normal brain = 4), ``centres_<task>.npy``
the flat indices each task's sampler may centre a patch on, and ``meta.json``. The folder
is rebuilt when :data:`PREPROCESSING_VERSION` changes or when a source file's content
changes (size or mtime differ and then the sha256 differs too; a copy with a new mtime
but the same bytes only refreshes the record).

Each case is brought onto the network's canonical grid (the model card's 1 mm spacing, one
orientation) and z-scored and cropped by the inference preparation's own functions
(:mod:`omnet.training.canonical`), so training sees exactly what ``omnet segment`` feeds the
network, whatever the spacing and orientation stored. ``meta.json``'s ``grid`` is that grid
cut to the scan's extent, ``bbox`` the crop on it (for BraTS: the T1c's own grid).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omnet.data.discovery import CaseFiles
from omnet.data.naming import SEQUENCE_ROLES, SHORT_TITLES
from omnet.errors import InputError, OutputError
from omnet.labels import detect_scheme, get_scheme, labels_to_classes
from omnet.training.sampling import TrainingCase, centre_candidates
from omnet.utils.atomic import atomic_write_json, file_sha256, partial_folder

__all__ = ["PREPROCESSING_VERSION", "CachedCase", "default_cache_dir", "open_cached_case",
           "prepare_case", "preprocess_case"]

log = logging.getLogger(__name__)

#: Bump when the cached arrays would come out different (invalidates every cache entry).
PREPROCESSING_VERSION = 3  # 3: spikes clipped before the z-score
#: Environment variable naming the cache folder (else the user cache dir).
CACHE_ENV = "OMNET_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$OMNET_CACHE_DIR``, else ``$XDG_CACHE_HOME/omnet/training`` (``~/.cache/...``)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "omnet" / "training"


@dataclass
class CachedCase:
    """Where a case's cached arrays are and what its ``meta.json`` says."""

    case_id: str
    folder: Path
    meta: dict[str, Any]


def _where(path: Path | str) -> str:
    """A source's identity: its resolved path, so the same file reached through a relative
    path, an absolute one or another symlink folder is one cache entry (as in the key)."""
    return str(Path(path).resolve())


def _fingerprint(path: Path, with_sha: bool = True) -> dict[str, Any]:
    st = path.stat()
    out: dict[str, Any] = {"path": _where(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if with_sha:
        out["sha256"] = file_sha256(path) if path.is_file() else _folder_sha(path)
    return out


def _folder_sha(folder: Path) -> str:
    """Checksum of a DICOM folder: the names and checksums of its files."""
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file():
            h.update(p.name.encode() + b"|" + file_sha256(p).encode())
    return h.hexdigest()


def _cache_key(case: CaseFiles) -> str:
    """``<case id>-<hash>`` of the source paths (and, for a 4D image in another order than
    MSD's, of that order: the same file read another way is another entry)."""
    paths = "|".join(_where(p) for p in case.all_paths())
    if case.four_d is not None and tuple(case.channel_order) != SEQUENCE_ROLES:
        paths += "|" + ",".join(case.channel_order)
    digest = hashlib.sha256(paths.encode()).hexdigest()[:12]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in case.case_id)
    return f"{safe}-{digest}"


def check_label_grid(case_id: str, seg, images) -> None:
    """Refuse a label map that lies on none of its sequences' grids: expert labels are
    drawn on a sequence's voxels, so another grid means a broken header or another case
    (resampled, it would teach the network shifted labels). As nnU-Net's dataset check."""
    from omnet.data.geometry import grid_difference, same_grid
    from omnet.data.imageio import REFERENCE_ROLE

    if not any(same_grid(seg, image) for image in images.values()):
        role = REFERENCE_ROLE if REFERENCE_ROLE in images else next(iter(images))
        raise InputError(f"{case_id}: the label map is on none of the sequences' grids "
                         f"(against the {SHORT_TITLES[role]}'s: "
                         f"{grid_difference(seg, images[role])}); check its header")


def _misfit_text(values: list[int], scheme: str) -> str:
    """Why label values do not fit the scheme the layout fixes (BraTS 2024's 4 is named)."""
    text = f"label values {values} do not fit the {scheme} scheme"
    if scheme == "brats2023" and 4 in values:
        text += " (4 is BraTS 2024's resection cavity, none of OMNet's classes)"
    return text


def preprocess_case(case: CaseFiles) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read one case, bring it onto the network's canonical grid, crop to the brain and
    z-score it exactly as ``omnet segment`` does (:func:`on_canonical_grid`); map its labels
    to network classes (normal brain = the brain mask without tumour).

    Returns (images float16 (4, z, y, x), classes uint8 (z, y, x), facts for ``meta.json``).
    Raises InputError for unreadable files or labels that fit no BraTS scheme.
    """
    from omnet.data.imageio import REFERENCE_ROLE, read_case
    from omnet.preparation.same_patient import other_patient_suspects, suspects_text
    from omnet.training.canonical import grid_change, grid_text, on_canonical_grid

    raw = read_case(case)
    if raw.seg is None:
        raise InputError(f"{case.case_id}: no label map")
    check_label_grid(case.case_id, raw.seg, raw.images)
    on_grid = on_canonical_grid(raw)
    # a series of another patient? (outlines read with the background at zero: a floor of
    # -500 was all tissue, every series "unlike")
    suspects = other_patient_suspects(on_grid.outline_dice, REFERENCE_ROLE,
                                      case.case_id)
    if on_grid.labels_outside:
        log.warning("%s: %d labelled voxels of the label map lie beyond the scans or outside "
                    "the brain's box and are ignored", case.case_id, on_grid.labels_outside)
    values = on_grid.label_values
    try:
        scheme = get_scheme(case.label_scheme) if case.label_scheme else detect_scheme(values)
        if not set(values) <= {0, *scheme.values}:
            raise ValueError(_misfit_text(values, scheme.name))
    except ValueError as exc:
        raise InputError(f"{case.case_id}: {exc}") from None
    classes = labels_to_classes(on_grid.labels, on_grid.brain, scheme)
    images = on_grid.volume
    if float(np.abs(images).max(initial=0.0)) > 6e4:
        raise InputError(f"{case.case_id}: intensities out of the float16 range after "
                         "normalisation")
    source, grid = on_grid.source, on_grid.grid
    change = grid_change(source, grid, on_grid.resampled)
    if change:
        log.info("%s: %s: the network's grid, as in omnet segment", case.case_id, change)
    facts = {"label_scheme": scheme.name, "labels": values,
             "bbox": [[s.start, s.stop] for s in on_grid.box],
             "source_shape": list(source.shape), "spacing_zyx": list(grid.spacing[::-1]),
             "grid": grid.describe(), "source_grid": grid_text(source),
             "resampled": on_grid.resampled, "grid_change": change,
             "other_patient_suspected": suspects_text(on_grid.outline_dice, suspects)}
    return images.astype(np.float16), classes.astype(np.uint8), facts


def _is_current(meta: dict[str, Any], case: CaseFiles, dilation: int) -> tuple[bool, bool]:
    """(valid, needs meta refresh) of a cache entry for ``case``'s current files."""
    if meta.get("version") != PREPROCESSING_VERSION or meta.get("dilation") != dilation:
        return False, False
    recorded = meta.get("sources", [])
    paths = case.all_paths()
    if [_where(r.get("path", "")) for r in recorded] != [_where(p) for p in paths]:
        return False, False
    refresh = False
    for record, path in zip(recorded, paths):
        now = _fingerprint(path, with_sha=False)
        if (now["size"], now["mtime_ns"]) == (record["size"], record["mtime_ns"]):
            continue
        if now["size"] != record["size"] or _fingerprint(path)["sha256"] != record["sha256"]:
            return False, False
        refresh = True
    return True, refresh


def _arrays_ok(folder: Path, meta: dict[str, Any]) -> bool:
    """The cached arrays exist and have the recorded shapes (headers only)."""
    try:
        images = np.load(folder / "images.npy", mmap_mode="r")
        classes = np.load(folder / "classes.npy", mmap_mode="r")
        centres = [np.load(folder / f"centres_{t}.npy", mmap_mode="r") for t in (1, 2, 3)]
    except (OSError, ValueError):
        return False
    return (images.shape == (4, *meta["shape"]) and classes.shape == tuple(meta["shape"])
            and [len(c) for c in centres] == [meta["centres"][str(t)] for t in (1, 2, 3)])


def _read_meta(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _writing_to(cache_dir: Path) -> Iterator[None]:
    """A failed write to the cache (a full disk, no permission) is one line naming the
    folder and the reason, and stops the run: a case left out for it would silently shrink
    the training set (a failed read of a case's own files stays that case's problem)."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot write the pre-processing cache {cache_dir}: {reason}; "
                          "free space there or choose another --cache") from None


def _repeat_warnings(case_id: str, meta: dict[str, Any]) -> None:
    """The warnings of a reused entry's build, from its ``meta.json``: each training run
    says them again, not only the one that built the cache."""
    suspected = meta.get("other_patient_suspected")
    if suspected:
        log.warning("%s: brain outline unlike the T1c's: %s (found when its cache entry was "
                    "built); check that it is this patient's series", case_id, suspected)


def prepare_case(case: CaseFiles, cache_dir: Path, dilation: int = 5) -> CachedCase:
    """The cache entry of ``case``: reused when current, else (re)built atomically.

    Raises:
        OutputError: the cache cannot be written (nothing half-written is left).
    """
    cache_dir = Path(cache_dir)
    folder = cache_dir / _cache_key(case)
    meta = _read_meta(folder) if folder.is_dir() else None
    if meta is not None:
        valid, refresh = _is_current(meta, case, dilation)
        if valid and _arrays_ok(folder, meta):
            if refresh:
                meta["sources"] = [_fingerprint(p) for p in case.all_paths()]
                with _writing_to(cache_dir):
                    atomic_write_json(folder / "meta.json", meta)
            _repeat_warnings(case.case_id, meta)
            return CachedCase(case.case_id, folder, meta)
        log.info("%s: source files or pre-processing changed; rebuilding its cache",
                 case.case_id)
    sources = [_fingerprint(p) for p in case.all_paths()]
    images, classes, facts = preprocess_case(case)
    centres = centre_candidates(classes, dilation)
    meta = {"version": PREPROCESSING_VERSION, "case_id": case.case_id, "dilation": dilation,
            "shape": list(classes.shape), "sources": sources, **facts,
            "centres": {str(k): len(v) for k, v in centres.items()}}
    with _writing_to(cache_dir):
        _write_entry(folder, images, classes, centres, meta)
    return CachedCase(case.case_id, folder, meta)


def _write_entry(folder: Path, images: np.ndarray, classes: np.ndarray,
                 centres: dict[int, np.ndarray], meta: dict[str, Any]) -> None:
    """Write a cache entry in a temporary folder beside ``folder`` and move it in whole
    (:func:`partial_folder`: the temporary folders of killed builds are removed too)."""
    with partial_folder(folder.parent, folder.name) as tmp:
        np.save(tmp / "images.npy", images)
        np.save(tmp / "classes.npy", classes)
        for task, index in centres.items():
            np.save(tmp / f"centres_{task}.npy", index.astype(np.int32))
        atomic_write_json(tmp / "meta.json", meta)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)


def open_cached_case(cached: CachedCase) -> TrainingCase:
    """Memory-map a cached case's arrays (nothing is read until a patch needs it)."""
    folder = cached.folder
    centres = {t: np.load(folder / f"centres_{t}.npy", mmap_mode="r") for t in (1, 2, 3)}
    return TrainingCase(case_id=cached.case_id,
                        images=np.load(folder / "images.npy", mmap_mode="r"),
                        classes=np.load(folder / "classes.npy", mmap_mode="r"),
                        centres=centres)
