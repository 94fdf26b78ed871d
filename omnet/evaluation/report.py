"""Evaluation results as summary statistics, a text table, JSON and CSV.

Statistics (mean, median, sample standard deviation with n - 1) are taken over the cases
with status ``ok`` only; cases without a partner or with an error are listed with their
status and count in ``n_missing`` / ``n_error`` instead of being dropped silently. A case
without a prediction scored as an empty one (``--missing-as-empty``) is an ``ok`` case,
named by ``scored_as_empty`` in every output. Lesion-wise statistics skip undefined (NaN)
values, as the BraTS tool's pandas summary does; an infinite HD95 makes its mean infinite.
Every lesion-wise output names its rules (``brats2025`` or ``brats2023``,
:mod:`omnet.evaluation.lesionrules`); one report holds one rule set.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence

import numpy as np

from omnet.evaluation.files import CaseEvaluation
from omnet.evaluation.lesionrules import DEFAULT_LESION_RULES, LESION_RULES, LesionRules
from omnet.evaluation.metrics import METRIC_NAMES
from omnet.labels import REGION_NAMES
from omnet.utils.atomic import atomic_write_text

__all__ = ["CSV_METRICS", "STATISTICS", "case_table", "folder_table", "lesion_rules_of",
           "summarize", "summarize_lesionwise", "to_json", "write_csv"]

STATISTICS = ("mean", "median", "std")
#: Per-region columns of the CSV, in order.
CSV_METRICS = (*METRIC_NAMES, "pred_ml", "ref_ml")
_SHORT = {"whole": "WT", "core": "TC", "enhancing": "ET"}
_LW_TITLES = {"dice": "Dice", "hd95": "HD95 mm", "nsd": "NSD", "f1": "F1", "tp": "TP",
              "fp": "FP", "fn": "FN", "ignored": "ignored"}
_TITLES = {"dice": "Dice", "sensitivity": "Sens", "specificity": "Spec", "ppv": "PPV",
           "hd95": "HD95 mm"}


def _statistic(values: np.ndarray, name: str, skip_nan: bool = False) -> float | None:
    if skip_nan:
        values = values[~np.isnan(values)]
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


def lesion_rules_of(results: Sequence[CaseEvaluation]) -> LesionRules | None:
    """The lesion-wise rules of the results (None without lesion-wise metrics).

    Raises:
        ValueError: cases evaluated under different rules (one report, one rule set).
    """
    names = {r.lesion_rules or DEFAULT_LESION_RULES for r in results if r.lesionwise}
    if len(names) > 1:
        raise ValueError(f"cases evaluated with different lesion-wise rules: {sorted(names)}")
    return LESION_RULES[names.pop()] if names else None


def summarize_lesionwise(results: Sequence[CaseEvaluation],
                         ) -> dict[str, dict[str, dict[str, float | None]]]:
    """statistic -> region -> lesion-wise metric over the ``ok`` cases, NaN skipped."""
    rules = lesion_rules_of(results)
    done = [r for r in results if r.status == "ok" and r.lesionwise]
    return {stat: {region: {
        metric: _statistic(np.array([getattr(r.lesionwise[region], metric) for r in done],
                                    dtype=float), stat, skip_nan=True)
        for metric in (rules.metrics if rules else ())} for region in REGION_NAMES}
        for stat in STATISTICS}


def _finite_or_none(tree):
    if isinstance(tree, dict):
        return {k: _finite_or_none(v) for k, v in tree.items()}
    return None if isinstance(tree, float) and not math.isfinite(tree) else tree


def to_json(results: Sequence[CaseEvaluation]) -> dict:
    """Cases, counts and summary statistics as one JSON-ready dict (no NaN / inf)."""
    out = {"cases": [r.to_dict() for r in results],
           "n_evaluated": sum(r.status == "ok" for r in results),
           "n_missing": sum(r.status.startswith("missing") for r in results),
           "n_error": sum(r.status == "error" for r in results),
           "scored_as_empty": _scored_as_empty(results),
           "summary": summarize(results)}
    rules = lesion_rules_of(results)
    if rules is not None:
        out["lesion_wise_rules"] = rules.name
        out["lesion_wise_definition"] = rules.definition
        out["summary_lesion_wise"] = _finite_or_none(summarize_lesionwise(results))
    return out


def _scored_as_empty(results: Sequence[CaseEvaluation]) -> list[str]:
    """Ids of the cases without a prediction that were scored as an empty one."""
    return [r.case_id for r in results if r.scored_as_empty]


def _cell(value: float | int | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def write_csv(path: str | os.PathLike, results: Sequence[CaseEvaluation]) -> None:
    """One row per case (status + metrics, ``scored_as_empty`` = yes for a missing prediction
    scored as empty), then rows ``mean``, ``median``, ``std``.

    Written atomically: an interrupted run leaves no half-written file.
    """
    columns = [f"{region}_{metric}" for region in REGION_NAMES for metric in CSV_METRICS]
    rules = lesion_rules_of(results)
    if rules is not None:
        columns += ["lesionwise_rules", *(f"{region}_lesionwise_{metric}"
                                          for region in REGION_NAMES
                                          for metric in rules.metrics)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["case", "status", "prediction", "reference", "pred_labels", "ref_labels",
                     *columns, "scored_as_empty", "message"])
    for r in results:
        values = [_cell(getattr(r.regions[g], m)) if r.regions else ""
                  for g in REGION_NAMES for m in CSV_METRICS]
        if rules is not None:
            values += [rules.name if r.lesionwise else "",
                       *(_cell(getattr(r.lesionwise[g], m)) if r.lesionwise else ""
                         for g in REGION_NAMES for m in rules.metrics)]
        writer.writerow([r.case_id, r.status, r.pred_path or "", r.ref_path or "",
                         r.pred_scheme or "", r.ref_scheme or "", *values,
                         "yes" if r.scored_as_empty else "", r.message])
    n_ok = sum(r.status == "ok" for r in results)
    n_empty = len(_scored_as_empty(results))
    empty = f" ({n_empty} scored as empty)" if n_empty else ""
    lesion_summary = summarize_lesionwise(results)
    for stat, regions in summarize(results).items():
        values = [_cell(regions[g][m]) for g in REGION_NAMES for m in CSV_METRICS]
        if rules is not None:
            values += [rules.name, *(_cell(lesion_summary[stat][g][m]) for g in REGION_NAMES
                                     for m in rules.metrics)]
        writer.writerow([stat, f"summary of {n_ok} cases{empty}", "", "", "", "", *values,
                         "", ""])
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
    rules = lesion_rules_of([result])
    if rules is not None:
        lines.append(f"lesion-wise ({rules.title})")
        lines.append(f"{'region':<10}" + "".join(f"{_LW_TITLES[m]:>10}"
                                                  for m in rules.metrics))
        for region in REGION_NAMES:
            m = result.lesionwise[region]
            lines.append(f"{region:<10}" + "".join(
                f"{getattr(m, k):>10}" if isinstance(getattr(m, k), int)
                else f"{getattr(m, k):>10.{2 if k == 'hd95' else 4}f}"
                for k in rules.metrics))
    return "\n".join(lines)


def folder_table(results: Sequence[CaseEvaluation]) -> str:
    """Dice and HD95 per case and region, then mean, median and standard deviation."""
    width = max([len(r.case_id) for r in results] + [10]) + 2
    rules = lesion_rules_of(results)
    lesionwise = rules is not None
    header = f"{'case':<{width}}" + "".join(
        f"{_SHORT[region] + ' ' + title:>11}" for region in REGION_NAMES
        for title in ("Dice", "HD95"))
    if lesionwise:
        header += "".join(f"{_SHORT[region] + ' ' + title:>11}" for region in REGION_NAMES
                          for title in ("lwDice", "lwHD95"))
    lines = [header]
    for r in results:
        if r.status != "ok":
            lines.append(f"{r.case_id:<{width}}  {r.status}"
                         + (f": {r.message}" if r.message else ""))
            continue
        row = f"{r.case_id:<{width}}" + "".join(
            f"{r.regions[g].dice:>11.4f}{r.regions[g].hd95:>11.2f}" for g in REGION_NAMES)
        if r.lesionwise:
            row += "".join(f"{r.lesionwise[g].dice:>11.4f}{r.lesionwise[g].hd95:>11.2f}"
                           for g in REGION_NAMES)
        lines.append(row + ("  (no prediction: scored as empty)" if r.scored_as_empty else ""))
    lesion_summary = summarize_lesionwise(results)
    for stat, regions in summarize(results).items():
        tables = [regions, lesion_summary[stat]] if lesionwise else [regions]
        cells = []
        for table in tables:
            for g in REGION_NAMES:
                for metric, fmt in (("dice", ".4f"), ("hd95", ".2f")):
                    value = table[g][metric]
                    cells.append(f"{'-' if value is None else format(value, fmt):>11}")
        lines.append(f"{stat:<{width}}" + "".join(cells))
    n_ok = sum(r.status == "ok" for r in results)
    empty = len(_scored_as_empty(results))
    lines.append(f"{n_ok} of {len(results)} cases evaluated"
                 + (f", {empty} without a prediction scored as empty" if empty else ""))
    if rules is not None:
        lines.append(f"lwDice, lwHD95: lesion-wise ({rules.title})")
    return "\n".join(lines)
