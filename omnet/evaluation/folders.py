"""Evaluate a folder of predictions against a folder of references, matched by case id.

How files are found in each folder: the label map files directly inside it, if there are
any; otherwise, in every sub-folder, the one file whose name says it is a label map
(``*_seg``, ``*-seg``, ``*label*``, ... as in BraTS case folders), with the sub-folder's
name as the case id; for predictions, the one ``omnet segment`` wrote there
(``<case>_omnet``) comes first. A sub-folder with several is an error of its case alone.
Sequence images (``*_flair``, ``*_t1`` ...) are never taken, nor files that sit beside
label maps without being one (:func:`is_side_output`: brain masks, ``omnet segment``'s
probability, attention and uncertainty maps); a plain ``<case>_mask`` beside another label
map of its case is taken for a brain mask and left out too.

How a case id is made from a file name: drop the image suffix (``.nii.gz``, ``.nii``,
``.nrrd``, ``.mha`` ...), then one trailing ``_seg``, ``-seg``, ``.seg``, ``_pred``,
``_prediction``, ``_label``, ``_labels``, ``_segmentation``, ``_mask`` or ``_omnet`` (the
name ``omnet segment -o FOLDER`` gives; any of ``_ - .`` before it, any letter case).
``Brats18_2013_2_1_seg.nii.gz``, ``Brats18_2013_2_1_omnet.nii.gz`` and
``Brats18_2013_2_1.nii.gz`` are all case ``Brats18_2013_2_1``. Ids are then compared
exactly.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from omnet.data.discovery import is_image_path, is_system_entry
from omnet.data.naming import (
    OUTPUT_SUFFIX,
    SEQUENCE_ROLES,
    classify_name,
    is_brain_mask,
    is_omnet_output,
    strip_image_suffix,
    tokens,
)
from omnet.errors import InputError, OMNetError
from omnet.evaluation.files import (
    CaseEvaluation,
    evaluate_files,
    evaluate_missing_prediction,
)
from omnet.evaluation.lesionrules import DEFAULT_LESION_RULES, get_lesion_rules
from omnet.evaluation.metrics import BRATS_POLICY, EmptyPolicy
from omnet.inference.attention import ATTENTION_FILES
from omnet.inference.outputs import PROBABILITY_NAMES

__all__ = ["case_id_from_name", "collect_case_files", "collect_label_files", "evaluate_folders",
           "is_side_output", "match_cases"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Trailing words that name a label map, not a case; ``omnet`` is ``omnet segment``'s own
#: default (``<case>_omnet.nii.gz``), so its outputs match their references.
_LABEL_SUFFIX = re.compile(
    r"[_.-](seg|segmentation|pred|prediction|label|labels|mask|"
    + re.escape(OUTPUT_SUFFIX.lstrip("_")) + r")$", re.IGNORECASE)


def case_id_from_name(name: str) -> str:
    """``Brats18_x_seg.nii.gz`` -> ``Brats18_x``; see the module docstring for the rule."""
    stem = strip_image_suffix(name)
    stripped = _LABEL_SUFFIX.sub("", stem)
    return stripped or stem


#: File stems of the maps ``omnet segment --probabilities DIR`` / ``--attention DIR`` writes.
_SIDE_OUTPUT_STEMS = frozenset({f"{task}_{name}" for task, names in PROBABILITY_NAMES.items()
                                for name in names} | set(ATTENTION_FILES))
_PLAIN_MASK = re.compile(r"[_.-]mask$", re.IGNORECASE)


def is_side_output(name: str) -> bool:
    """A file that may sit among label maps without being one: a brain mask, or one of
    ``omnet segment``'s probability, attention or (``--uncertainty``) uncertainty maps."""
    return is_brain_mask(name) or strip_image_suffix(name).lower() in _SIDE_OUTPUT_STEMS \
        or "uncertainty" in tokens(name)


def _is_label_file(path: Path) -> bool:
    return is_image_path(path) and path.is_file() and not is_side_output(path.name) and \
        classify_name(path.name) not in SEQUENCE_ROLES


def _without_masks_beside_maps(paths: list[Path]) -> list[Path]:
    """A case's files less the ``<case>_mask`` ones when another is there: beside a label
    map a plain mask is a brain mask; alone it is the label map (the ``_mask`` suffix)."""
    maps = [p for p in paths if not _PLAIN_MASK.search(strip_image_suffix(p.name))]
    ignored = sorted(set(paths) - set(maps))
    if maps and ignored:
        log.info("taken for brain masks, not label maps: %s", ", ".join(map(str, ignored)))
        return maps
    return paths


def _case_folder_maps(folder: Path, prediction: bool) -> dict[str, list[Path]]:
    """Case id -> label maps of each case sub-folder: for predictions the ``<case>_omnet``
    files ``omnet segment`` wrote, when the folder holds any (a tree segmented in place
    also holds the ``*_seg`` references); otherwise the ``*_seg`` files."""
    files = {sub.name: [p for p in sorted(sub.iterdir()) if _is_label_file(p)]
             for sub in sorted(folder.iterdir()) if sub.is_dir() and not is_system_entry(sub.name)}
    chosen = {case: [p for p in paths if is_omnet_output(p.name)]
              for case, paths in files.items()}
    if not (prediction and any(chosen.values())):
        chosen = {case: [p for p in paths if classify_name(p.name) == "seg"]
                  for case, paths in files.items()}
    return {case: paths for case, paths in chosen.items() if paths}


def _double_error(what: str, folder: Path, case: str, paths: list[Path]) -> str:
    return f"{what} folder {folder}: several files for case {case}: " \
        f"{', '.join(p.name for p in paths)}"


def collect_case_files(folder: str | os.PathLike, what: str, prediction: bool = False,
                       ) -> dict[str, list[Path]]:
    """Case id -> label map files of a predictions or references folder (the module
    docstring's rules); a case sub-folder with several candidates keeps them all, for its
    case alone to be reported. ``prediction``: in case sub-folders, take ``omnet segment``'s
    ``<case>_omnet`` files when there are any (:func:`_case_folder_maps`).

    Raises:
        InputError: missing folder, no label maps, or two files directly inside the folder
            with the same case id.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{what} folder not found: {folder}")
    found: dict[str, list[Path]] = {}
    top = sorted(p for p in folder.iterdir() if _is_label_file(p))
    for path in top:
        found.setdefault(case_id_from_name(path.name), []).append(path)
    if not top:
        found = _case_folder_maps(folder, prediction)
    found = {case: _without_masks_beside_maps(paths) for case, paths in sorted(found.items())}
    if not found:
        wanted = "*_omnet or *_seg" if prediction else "*_seg"
        raise InputError(f"no label maps found in {what} folder {folder} (neither files there "
                         f"nor {wanted} files in case sub-folders)")
    doubles = {k: v for k, v in found.items() if len(v) > 1}
    if top and doubles:
        raise InputError(_double_error(what, folder, *next(iter(doubles.items()))))
    return found


def collect_label_files(folder: str | os.PathLike, what: str, prediction: bool = False,
                        ) -> dict[str, Path]:
    """Case id -> label map file of a predictions or references folder
    (:func:`collect_case_files`, one file per case).

    Raises:
        InputError: missing folder, no label maps, or two files with the same case id.
    """
    found = collect_case_files(folder, what, prediction)
    doubles = {k: v for k, v in found.items() if len(v) > 1}
    if doubles:
        raise InputError(_double_error(what, Path(folder), *next(iter(doubles.items()))))
    return {k: v[0] for k, v in found.items()}


def match_cases(preds: dict[str, T], refs: dict[str, T]) -> list[tuple[str, T | None, T | None]]:
    """Every case id of either side with its prediction and reference (None if missing)."""
    return [(case, preds.get(case), refs.get(case)) for case in sorted(set(preds) | set(refs))]


def _ambiguous_message(preds: list[Path], refs: list[Path]) -> str:
    """One line naming the files a case folder offers when it must offer one."""
    what, paths = ("predictions", preds) if len(preds) > 1 else ("references", refs)
    return f"several {what} in {paths[0].parent}: {', '.join(p.name for p in paths)}; " \
        "keep one"


def evaluate_folders(pred_dir: str | os.PathLike, ref_dir: str | os.PathLike, *,
                     pred_labels: str | None = None, ref_labels: str | None = None,
                     policy: EmptyPolicy = BRATS_POLICY,
                     progress: Callable[[float, str], None] | None = None,
                     lesion_wise: bool = False,
                     lesion_rules: str = DEFAULT_LESION_RULES,
                     missing_as_empty: bool = False) -> list[CaseEvaluation]:
    """One :class:`CaseEvaluation` per case id found in either folder, sorted by id.

    Cases without a partner come back with status ``missing prediction`` or
    ``missing reference``; a case whose files cannot be evaluated (unreadable, different
    grids, unknown labels, a case folder with several) comes back with status ``error`` and
    the one-line reason, so one bad case never hides the others. ``missing_as_empty``:
    score a case without a prediction as an empty prediction instead (BraTS challenge
    scoring; ``scored_as_empty`` is set). ``lesion_wise`` / ``lesion_rules``: as in
    :func:`~omnet.evaluation.files.evaluate_files` (an unknown rule set stops the run).
    """
    if lesion_wise:
        get_lesion_rules(lesion_rules)
    matched = match_cases(collect_case_files(pred_dir, "predictions", prediction=True),
                          collect_case_files(ref_dir, "references"))
    options = {"ref_labels": ref_labels, "policy": policy, "lesion_wise": lesion_wise,
               "lesion_rules": lesion_rules}
    results = []
    for index, (case, preds, refs) in enumerate(matched):
        if progress is not None:
            progress(index / len(matched), f"evaluating {case}")
        result = _evaluate_case(case, preds or [], refs or [], pred_labels, options,
                                missing_as_empty)
        if result.status != "ok" or result.scored_as_empty:
            log.debug("%s: %s", case, result.message or result.status)
        results.append(result)
    if progress is not None:
        progress(1.0, "evaluated")
    return results


def _evaluate_case(case: str, preds: list[Path], refs: list[Path], pred_labels: str | None,
                   options: dict, missing_as_empty: bool) -> CaseEvaluation:
    """The outcome of one matched case (:func:`evaluate_folders`); ``options`` are the
    keyword arguments shared by evaluate_files and evaluate_missing_prediction."""
    pred, ref = preds[0] if preds else None, refs[0] if refs else None
    if len(preds) > 1 or len(refs) > 1:
        return CaseEvaluation(case, "error", message=_ambiguous_message(preds, refs))
    if ref is None or (pred is None and not missing_as_empty):
        return CaseEvaluation(case, "missing prediction" if pred is None else
                              "missing reference", pred, ref)
    try:
        if pred is None:
            return evaluate_missing_prediction(ref, case_id=case, **options)
        return evaluate_files(pred, ref, pred_labels=pred_labels, case_id=case, **options)
    except OMNetError as exc:
        return CaseEvaluation(case, "error", pred, ref, message=" ".join(str(exc).split()))
