"""What an earlier batch report said of each case, so that a batch run again (new cases
added to the folder, or after a stop) keeps the reports of the cases it skips as done
instead of replacing them with "skipped" and nothing else."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EarlierCase", "earlier_cases"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EarlierCase:
    """A case's label map and its own report, as an earlier run of the batch wrote them."""

    output: Path
    report: dict


def earlier_cases(report_path: str | os.PathLike | None) -> dict[str, EarlierCase]:
    """Case -> what the batch report at ``report_path`` says of it, for the cases whose label
    map is still the one it describes (not written since the report); {} when there is no
    report there or it is not a batch report (it is replaced, as before)."""
    path = Path(report_path) if report_path else None
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        log.warning("%s is not a batch report that can be read; it is replaced", path)
        return {}
    if not (isinstance(data, dict) and isinstance(data.get("cases"), list)
            and isinstance(data.get("reports"), dict)):
        return {}
    written_at = path.stat().st_mtime
    outputs = {entry.get("case"): entry.get("output") for entry in data["cases"]
               if isinstance(entry, dict) and isinstance(entry.get("output"), str)}
    found = {}
    for case_id, report in data["reports"].items():
        output = Path(outputs[case_id]) if case_id in outputs else None
        if (isinstance(report, dict) and output is not None and output.is_file()
                and output.stat().st_mtime <= written_at):
            found[case_id] = EarlierCase(output, report)
    return found
