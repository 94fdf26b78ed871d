"""Brain-outline agreement of skull-stripped series: within each case, and across cases.

Measures the threshold of :mod:`omnet.preparation.same_patient`: every case's FLAIR, T1 and
T2 against its own T1c, and against every other case's T1c on the same grid (another
patient's series picked by mistake).

    python tools/outline_agreement.py DATA
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("outline_agreement")


def agreement_table(folder: Path) -> tuple[dict, dict]:
    """(own, other): case -> the lowest Dice of its series against its own T1c, and case ->
    the highest against any other case's T1c."""
    from omnet.data.discovery import find_case_files
    from omnet.data.imageio import read_case
    from omnet.errors import InputError
    from omnet.preparation.same_patient import outline_agreement

    cases = {path.name: read_case(find_case_files(path)).images
             for path in sorted(folder.iterdir()) if path.is_dir()}
    if not cases:
        raise InputError(f"{folder} holds no case folder")
    own, other = {}, {}
    for name, images in cases.items():
        values = outline_agreement(images, "t1ce", {}).values()
        if not values:
            raise InputError(f"{name}: no series on its T1c's grid (the tool compares "
                             "co-registered, skull-stripped cases)")
        own[name] = min(values)
        highest = 0.0
        for other_name, other_images in cases.items():
            if other_name == name:
                continue
            mixed = {"t1ce": images["t1ce"], **{role: other_images[role]
                                                for role in ("flair", "t1", "t2")}}
            values = outline_agreement(mixed, "t1ce", {}).values()
            highest = max(highest, *values) if values else highest
        other[name] = highest
    return own, other


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder of case folders (BraTS names)")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"{args.data} is not a folder")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from omnet.errors import InputError
    from omnet.preparation.same_patient import SAME_PATIENT_OUTLINE_DICE

    try:
        own, other = agreement_table(args.data)
    except InputError as exc:
        parser.error(str(exc))
    for name in own:
        log.info("%-28s own %.4f  other patients' at most %.4f", name, own[name], other[name])
    log.info("lowest within a patient %.4f, highest across patients %.4f (warning under %.2f)",
             min(own.values()), max(other.values()), SAME_PATIENT_OUTLINE_DICE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
