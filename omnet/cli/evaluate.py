"""``omnet evaluate``: BraTS metrics of one prediction, or of a folder of predictions.

Exit status: 0 when every case was evaluated; 1 when a folder run finished but some case had
no partner or could not be evaluated (listed in the output); 2 for a one-line error. With
--missing-as-empty a case without a prediction is evaluated (as an empty prediction).
"""

from __future__ import annotations

import argparse
import json
import logging

log = logging.getLogger(__name__)

SCHEME_CHOICES = ("auto", "brats2018", "brats2023", "msd")
#: Names of omnet.evaluation.lesionrules.LESION_RULES (kept equal by a test; importing the
#: registry here would slow ``omnet --help``).
LESION_RULE_CHOICES = ("brats2025", "brats2023")

EPILOG = """\
examples:
  omnet evaluate pred.nii.gz Brats18_x_seg.nii.gz
  omnet evaluate pred.nii.gz ref.nii.gz --json
  omnet evaluate --pred-dir predictions/ --ref-dir BraTS2018/ --csv metrics.csv
  omnet evaluate pred.nii.gz ref.nii.gz --lesion-wise --lesion-rules brats2023

Regions: whole tumour (NCR + edema + enhancing), tumour core (NCR + enhancing), enhancing
tumour. HD95 (mm) = max of the two directed 95th percentiles of surface-to-surface
distances. Empty regions: both empty -> Dice 1, HD95 0; one empty -> Dice 0, HD95 = the
penalty (--empty-hd95, default 373.13 mm). Files on different grids are an error.
--lesion-wise adds the BraTS 2025 lesion-wise Dice, HD95 and NSD (panoptica, as the official
brats-evaluation tool computes them: mean over matched lesions, with detection F1, TP, FP,
FN); it needs the optional extra: pip install 'omnet[lesionwise]'. --lesion-rules brats2023
gives the BraTS 2023 rules instead (reference lesions dilated for matching, lesions of
50 mm3 or less ignored, each missed or spurious lesion scored Dice 0 / HD95 374 mm; no
extra needed). --missing-as-empty scores a case without a prediction as an empty
prediction, as the BraTS challenge does (Dice 0 and the HD95 penalty for each region the
reference has), instead of leaving it out of the statistics."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="Dice, sensitivity, specificity, PPV and HD95 against references",
        description="BraTS metrics of predicted label maps against reference label maps.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pred", nargs="?", metavar="PRED", help="predicted label map file")
    p.add_argument("ref", nargs="?", metavar="REF", help="reference label map file")
    p.add_argument("--pred-dir", metavar="DIR", help="folder of predicted label maps")
    p.add_argument("--ref-dir", metavar="DIR",
                   help="folder of reference label maps (files, or BraTS case folders)")
    p.add_argument("--csv", metavar="OUT.csv", help="also write per-case rows and statistics")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--pred-labels", choices=SCHEME_CHOICES, default="auto",
                   help="label scheme of the predictions (default: detect; 4 -> brats2018, "
                        "3 -> brats2023; MSD files need msd)")
    p.add_argument("--ref-labels", choices=SCHEME_CHOICES, default="auto",
                   help="label scheme of the references (default: detect)")
    p.add_argument("--empty-hd95", type=float, default=None, metavar="MM",
                   help="HD95 when exactly one side of a region is empty (default 373.13)")
    p.add_argument("--lesion-wise", action="store_true",
                   help="also report lesion-wise Dice, HD95 and detection counts (BraTS 2025 "
                        "rules by default: needs panoptica, pip install 'omnet[lesionwise]')")
    p.add_argument("--lesion-rules", choices=LESION_RULE_CHOICES, default=None,
                   help="lesion-wise rules: brats2025 (panoptica, the default) or brats2023 "
                        "(the BraTS 2023 script's); implies --lesion-wise")
    p.add_argument("--missing-as-empty", action="store_true",
                   help="folder runs: score a case without a prediction as an empty one "
                        "(BraTS challenge scoring) instead of leaving it out of the means; "
                        "the outputs name those cases (scored_as_empty)")
    p.add_argument("--progress-format", choices=("bar", "lines", "none"), default="none",
                   help="progress output for folder runs (default none)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from omnet.errors import InputError
    from omnet.evaluation.metrics import EmptyPolicy

    single = args.pred is not None or args.ref is not None
    folders = args.pred_dir is not None or args.ref_dir is not None
    if single == folders or (single and args.ref is None) or \
            (folders and (args.pred_dir is None or args.ref_dir is None)):
        raise InputError("give either PRED REF (two files) or --pred-dir DIR --ref-dir DIR")
    if single and args.missing_as_empty:
        raise InputError("--missing-as-empty is for folder runs (--pred-dir, --ref-dir)")
    try:
        policy = EmptyPolicy() if args.empty_hd95 is None else EmptyPolicy(args.empty_hd95)
    except ValueError as exc:
        raise InputError(f"--empty-hd95: {exc}") from None
    # --lesion-rules alone asks for lesion-wise metrics; --lesion-wise alone for the default.
    lesion_rules = args.lesion_rules or ("brats2025" if args.lesion_wise else None)
    if lesion_rules is not None:
        from omnet.evaluation.lesionrules import get_lesion_rules

        get_lesion_rules(lesion_rules).require()
    if args.csv:  # a folder (or a name ending in /, which wrote a file) fails before any work
        from omnet.inference.outputs import check_file_destination

        check_file_destination(args.csv, "the CSV file", "metrics.csv")
    if single:
        return _run_single(args, policy, lesion_rules)
    return _run_folders(args, policy, lesion_rules)


def _write_csv(writer, path: str, results) -> None:
    from omnet.errors import OMNetError

    try:
        writer(path, results)
    except OSError as exc:
        raise OMNetError(f"cannot write {path}: {exc.strerror or exc}") from None


def _lesion_options(lesion_rules: str | None) -> dict:
    """Keyword arguments of evaluate_files / evaluate_folders for the lesion-wise choice."""
    return {"lesion_wise": lesion_rules is not None,
            "lesion_rules": lesion_rules or "brats2025"}


def _run_single(args: argparse.Namespace, policy, lesion_rules: str | None) -> int:
    from pathlib import Path

    from omnet.evaluation.files import evaluate_files
    from omnet.evaluation.folders import case_id_from_name
    from omnet.evaluation.report import case_table, write_csv

    result = evaluate_files(args.pred, args.ref, pred_labels=args.pred_labels,
                            ref_labels=args.ref_labels, policy=policy,
                            case_id=case_id_from_name(Path(args.pred).name),
                            **_lesion_options(lesion_rules))
    if args.csv:
        _write_csv(write_csv, args.csv, [result])
    print(json.dumps(result.to_dict(), indent=2) if args.json else case_table(result))
    return 0


def _run_folders(args: argparse.Namespace, policy, lesion_rules: str | None) -> int:
    from omnet.evaluation.folders import evaluate_folders
    from omnet.evaluation.report import folder_table, to_json, write_csv
    from omnet.utils.progress import make_progress

    progress = make_progress(args.progress_format, "evaluate")
    try:
        results = evaluate_folders(args.pred_dir, args.ref_dir, pred_labels=args.pred_labels,
                                   ref_labels=args.ref_labels, policy=policy,
                                   progress=progress, missing_as_empty=args.missing_as_empty,
                                   **_lesion_options(lesion_rules))
    finally:
        progress.close()
    if args.csv:
        _write_csv(write_csv, args.csv, results)
    print(json.dumps(to_json(results), indent=2) if args.json else folder_table(results))
    empty = [r.case_id for r in results if r.scored_as_empty]
    if empty:
        log.warning("%d cases without a prediction scored as empty: %s", len(empty),
                    ", ".join(empty))
    counts = {status: sum(r.status == status for r in results)
              for status in ("missing prediction", "missing reference", "error")}
    if any(counts.values()):
        problems = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        log.warning("not evaluated: %s (listed in the output)", problems)
        return 1
    return 0
