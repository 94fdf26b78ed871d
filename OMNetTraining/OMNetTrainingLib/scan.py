"""The dataset scan (``omnet train DATA --check``) as table rows and a summary (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CaseRow", "scan_rows", "scan_summary"]


@dataclass(frozen=True)
class CaseRow:
    """One row of the scan table."""

    case: str
    ok: bool
    problem: str
    labels: str

    @property
    def status(self) -> str:
        return "ready" if self.ok else "problem"


def _labels_text(labels: Any) -> str:
    if not isinstance(labels, list) or not labels:
        return ""
    return ", ".join(str(value) for value in labels)


def scan_rows(result: Mapping[str, Any]) -> list[CaseRow]:
    """Rows from the RESULT of ``--check``: cases with problems first, then by name.

    Raises ValueError when the result does not have the agreed shape.
    """
    cases = result.get("cases")
    if not isinstance(cases, list):
        raise ValueError("the dataset check did not list any cases")
    rows = []
    for entry in cases:
        if not isinstance(entry, Mapping) or "case" not in entry:
            raise ValueError(f"unexpected entry in the dataset check: {entry!r}")
        ok = bool(entry.get("ok"))
        problem = entry.get("problem") or ("" if ok else "not usable (no reason given)")
        if ok and entry.get("other_patient_suspected"):  # usable, but worth a look
            problem = (f"brain outline unlike the T1c's: {entry['other_patient_suspected']}; "
                       "check that the series are this case's")
        rows.append(CaseRow(str(entry["case"]), ok, str(problem),
                            _labels_text(entry.get("labels"))))
    return sorted(rows, key=lambda row: (row.ok, row.case))


def scan_summary(rows: Sequence[CaseRow]) -> str:
    """``16 cases: 15 ready, 1 with a problem.``, and what too few usable cases mean (one
    trains without validation, as ``omnet train`` does; none trains nothing)."""
    if not rows:
        return "No cases found in this folder."
    ready = sum(row.ok for row in rows)
    problems = len(rows) - ready
    text = f"{len(rows)} case{'s' if len(rows) != 1 else ''}: {ready} ready"
    if problems:
        text += f", {problems} with {'a problem' if problems == 1 else 'problems'}"
    text += "."
    if ready == 0:
        text += " Nothing can be trained: no case is usable."
    elif ready == 1:  # omnet train goes on with a warning
        text += (" With one usable case none is left for validation: the run trains, but its "
                 "Dice is not measured.")
    return text
