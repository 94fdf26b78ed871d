"""Evaluation results as summary statistics, a text table, JSON and CSV.

Statistics (mean, median, sample standard deviation with n - 1) are taken over the cases
with status ``ok`` only; cases without a partner or with an error are listed with their
status and count in ``n_missing`` / ``n_error`` instead of being dropped silently.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence

import numpy as np

from omnet.evaluation.files import CaseEvaluation
from omnet.evaluation.metrics import METRIC_NAMES
from omnet.labels import REGION_NAMES
from omnet.utils.atomic import atomic_write_text

__all__ = ["CSV_METRICS", "STATISTICS", "case_table", "folder_table", "summarize",
           "to_json", "write_csv"]

STATISTICS = ("mean", "median", "std")
#: Per-region columns of the CSV, in order.
CSV_METRICS = (*METRIC_NAMES, "pred_ml", "ref_ml")
_SHORT = {"whole": "WT", "core": "TC", "enhancing": "ET"}
_TITLES = {"dice": "Dice", "sensitivity": "Sens", "specificity": "Spec", "ppv": "PPV",
           "hd95": "HD95 mm"}


def _statistic(values: np.ndarray, name: str) -> float | None:
    if values.size == 0 or (name == "std" and values.size < 2):
        return None
    if name == "mean":
        return float(np.mean(values))
    if name == "median":
        return float(np.median(values))
    return float(np.std(values, ddof=1))


def summarize(results: Sequence[CaseEvaluation]) -> dict[str, dict[str, dict[str, float | None]]]:
    """statistic -> region -> metric -> value over the evaluated (``ok``) cases."""
    done = [r for r in results if r.status == "ok"]
    summary: dict[str, dict[str, dict[str, float | None]]] = {}
    for stat in STATISTICS:
        summary[stat] = {}
        for region in REGION_NAMES:
            summary[stat][region] = {
                metric: _statistic(np.array([getattr(r.regions[region], metric) for r in done],
                                            dtype=float), stat)
                for metric in CSV_METRICS}
    return summary


def to_json(results: Sequence[CaseEvaluation]) -> dict:
    """Cases, counts and summary statistics as one JSON-ready dict."""
    return {"cases": [r.to_dict() for r in results],
            "n_evaluated": sum(r.status == "ok" for r in results),
            "n_missing": sum(r.status.startswith("missing") for r in results),
            "n_error": sum(r.status == "error" for r in results),
            "summary": summarize(results)}


def _cell(value: float | int | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def write_csv(path: str | os.PathLike, results: Sequence[CaseEvaluation]) -> None:
    """One row per case (status + metrics), then rows ``mean``, ``median``, ``std``.

    Written atomically: an interrupted run leaves no half-written file.
    """
    columns = [f"{region}_{metric}" for region in REGION_NAMES for metric in CSV_METRICS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["case", "status", "prediction", "reference", "pred_labels", "ref_labels",
                     *columns, "message"])
    for r in results:
        values = [_cell(getattr(r.regions[g], m)) if r.regions else ""
                  for g in REGION_NAMES for m in CSV_METRICS]
        writer.writerow([r.case_id, r.status, r.pred_path or "", r.ref_path or "",
                         r.pred_scheme or "", r.ref_scheme or "", *values, r.message])
    n_ok = sum(r.status == "ok" for r in results)
    for stat, regions in summarize(results).items():
        values = [_cell(regions[g][m]) for g in REGION_NAMES for m in CSV_METRICS]
        writer.writerow([stat, f"summary of {n_ok} cases", "", "", "", "", *values, ""])
    atomic_write_text(path, buffer.getvalue())


def case_table(result: CaseEvaluation) -> str:
    """A small text table: one line per region with the five metrics."""
    header = f"{'region':<10}" + "".join(f"{_TITLES[m]:>10}" for m in METRIC_NAMES)
    lines = [f"case {result.case_id}: prediction {result.pred_scheme} labels, "
             f"reference {result.ref_scheme} labels", header]
    for region in REGION_NAMES:
        m = result.regions[region]
        lines.append(f"{region:<10}" + "".join(f"{getattr(m, k):>10.4f}" if k != "hd95"
                                               else f"{m.hd95:>10.2f}" for k in METRIC_NAMES))
    return "\n".join(lines)


def folder_table(results: Sequence[CaseEvaluation]) -> str:
    """Dice and HD95 per case and region, then mean, median and standard deviation."""
    width = max([len(r.case_id) for r in results] + [10]) + 2
    header = f"{'case':<{width}}" + "".join(
        f"{_SHORT[region] + ' ' + title:>11}" for region in REGION_NAMES
        for title in ("Dice", "HD95"))
    lines = [header]
    for r in results:
        if r.status != "ok":
            lines.append(f"{r.case_id:<{width}}  {r.status}"
                         + (f": {r.message}" if r.message else ""))
            continue
        lines.append(f"{r.case_id:<{width}}" + "".join(
            f"{r.regions[g].dice:>11.4f}{r.regions[g].hd95:>11.2f}" for g in REGION_NAMES))
    for stat, regions in summarize(results).items():
        cells = []
        for g in REGION_NAMES:
            for metric, fmt in (("dice", ".4f"), ("hd95", ".2f")):
                value = regions[g][metric]
                cells.append(f"{'-' if value is None else format(value, fmt):>11}")
        lines.append(f"{stat:<{width}}" + "".join(cells))
    n_ok = sum(r.status == "ok" for r in results)
    lines.append(f"{n_ok} of {len(results)} cases evaluated")
    return "\n".join(lines)
