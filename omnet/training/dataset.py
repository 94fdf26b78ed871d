"""A training folder as usable cases: scan, pre-process into the cache, report problems.

A case with a missing, mismatched or unreadable file, or labels that fit no BraTS scheme,
is reported by name and left out; with ``strict`` the run stops before any training.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from omnet.data.discovery import CaseFiles, scan_dataset
from omnet.data.naming import SEQUENCE_ROLES, SHORT_TITLES
from omnet.errors import Cancelled, InputError
from omnet.training.cache import CachedCase, prepare_case, preprocess_case
from omnet.utils.plural import counted

__all__ = ["CaseCheck", "PreparedDataset", "check_dataset", "format_check_table",
           "prepare_dataset", "reading_text", "strict_refusal"]

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


@dataclass
class PreparedDataset:
    """Cached cases by id, and the (case, reason) of every case left out."""

    cases: dict[str, CachedCase] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CaseCheck:
    """One row of ``omnet train --check``: a usable case's label values and how it was read
    (label scheme, the file of each sequence, where each came from, how it is brought onto
    the network's grid), else the problem."""

    case: str
    ok: bool
    problem: str | None
    labels: list[int] | None
    label_scheme: str | None = None
    scheme_from: str | None = None
    sequences: dict[str, str] | None = None
    sequences_from: str | None = None
    grid_change: str | None = None
    #: series whose brain outline is unlike the T1c's ("FLAIR (Dice 0.92)"), else empty
    other_patient_suspected: str = ""

    def to_dict(self) -> dict:
        return {"case": self.case, "ok": self.ok, "problem": self.problem,
                "labels": self.labels, "label_scheme": self.label_scheme,
                "scheme_from": self.scheme_from, "sequences": self.sequences,
                "sequences_from": self.sequences_from, "grid_change": self.grid_change,
                "other_patient_suspected": self.other_patient_suspected}


def _problem_text(case_id: str, exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[len(case_id) + 2:] if text.startswith(f"{case_id}: ") else text


def _each_case(data_dir: Path, progress: Progress | None, verb: str,
               work: Callable[[CaseFiles], object], stop: threading.Event | None = None
               ) -> tuple[list, list[tuple[str, str]]]:
    """``work`` on every case of the scan: (case, its result) pairs and the problems.

    Raises:
        Cancelled: ``stop`` was set; checked before each case, so a case is done whole or
            not at all (a large dataset takes hours, far longer than a stop may wait).
    """
    scan = scan_dataset(data_dir)
    done = []
    problems = [(c, _problem_text(c, Exception(r))) for c, r in scan.problems]
    for i, case in enumerate(scan.cases):
        if stop is not None and stop.is_set():
            raise Cancelled(f"stopped while {verb} the cases, after {i} of "
                            f"{counted(len(scan.cases), 'case')}; the same command goes on "
                            "from there")
        if progress:
            progress(i / max(1, len(scan.cases)), f"{verb} {case.case_id}")
        try:
            done.append((case, work(case)))
        except (InputError, ValueError, OSError) as exc:
            problems.append((case.case_id, _problem_text(case.case_id, exc)))
    if progress:
        progress(1.0, f"{verb} done")
    return done, problems


def prepare_dataset(data_dir: Path, cache_dir: Path, dilation: int = 5,
                    progress: Progress | None = None, strict: bool = False,
                    stop: threading.Event | None = None) -> PreparedDataset:
    """Pre-process (or reuse) every case of ``data_dir``.

    Raises:
        InputError: ``strict`` and some case has a problem, or no case is usable.
        Cancelled: ``stop`` was set (the cases cached so far are kept, each whole).
    """
    done, problems = _each_case(Path(data_dir), progress, "preparing",
                                lambda c: prepare_case(c, cache_dir, dilation), stop)
    for case_id, reason in problems:
        log.warning("skipping case %s: %s", case_id, reason)
    if strict and problems:
        raise strict_refusal(problems)
    prepared = PreparedDataset({c.case_id: cached for c, cached in done}, problems)
    if not prepared.cases:
        raise InputError(f"no usable training case in {data_dir}")
    return prepared


def strict_refusal(problems: list[tuple[str, str]]) -> InputError:
    """The one line ``--strict`` stops with, training or ``--check`` alike, naming each
    (case, reason) left out."""
    listed = "; ".join(f"{c}: {r}" for c, r in problems)
    return InputError(f"{len(problems)} case(s) have problems (--strict): {listed}")


def check_dataset(data_dir: Path, progress: Progress | None = None) -> list[CaseCheck]:
    """Read and validate every case without writing anything (``omnet train --check``)."""
    done, problems = _each_case(Path(data_dir), progress, "checking",
                                lambda c: preprocess_case(c)[2])
    rows = [CaseCheck(c.case_id, True, None, facts["labels"], facts["label_scheme"],
                      c.scheme_from or "the label values", c.sequence_files(), c.order_from,
                      facts["grid_change"], facts["other_patient_suspected"])
            for c, facts in done]
    rows += [CaseCheck(case_id, False, reason, None) for case_id, reason in problems]
    return sorted(rows, key=lambda r: r.case)


def reading_text(row: CaseCheck) -> str:
    """How a usable case was read, its id in file names written ``<case>`` so that cases
    read the same way give the same text: the label scheme and each sequence's file."""
    own_id = re.compile(rf"(?<![A-Za-z0-9]){re.escape(row.case)}(?![A-Za-z0-9])")
    files = ", ".join(f"{SHORT_TITLES[role]} {own_id.sub('<case>', row.sequences[role])}"
                      for role in SEQUENCE_ROLES if role in (row.sequences or {}))
    return (f"  labels     {row.label_scheme}, by {row.scheme_from}\n"
            f"  sequences  by {row.sequences_from}: {files}")


def format_check_table(rows: list[CaseCheck]) -> str:
    """A plain-text table of the check for people; how the cases were read is said once
    when every usable case was read the same way, else each case names its way (#1, #2)
    and the ways are listed below the table (a wrong mapping would train wrong classes)."""
    readings: dict[str, list[str]] = {}
    for r in rows:
        if r.ok:
            readings.setdefault(reading_text(r), []).append(r.case)
    keys = {text: f"#{k}" for k, text in enumerate(readings, 1)} if len(readings) > 1 else {}
    width = max([len(r.case) for r in rows] + [4])
    read = "read  " if keys else ""
    lines = [f"{'case':<{width}}  ok   {read}labels / problem"]
    for r in rows:
        key = f"{keys.get(reading_text(r), '') if r.ok else '':<6}" if keys else ""
        detail = " ".join(map(str, r.labels)) if r.ok else r.problem
        if r.grid_change:
            detail += f"  ({r.grid_change})"
        if r.other_patient_suspected:  # usable, but the labels may not fit the series
            detail += f"  (brain outline unlike the T1c's: {r.other_patient_suspected})"
        lines.append(f"{r.case:<{width}}  {'yes' if r.ok else 'NO ':<3}  {key}{detail}")
    usable = sum(r.ok for r in rows)
    lines.append(f"{usable} of {len(rows)} cases usable for training")
    for text, cases in readings.items():
        title = (f"read as {keys[text]} ({len(cases)} case{'s' * (len(cases) != 1)}):" if keys
                 else "every usable case is read as:")
        lines += [title, text]
    return "\n".join(lines)
