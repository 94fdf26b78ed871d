"""``omnet measure``: every lesion of a label map with its volume, centre and RANO diameters.

Works on any label map: OMNet's, a corrected one, another tool's output. Exit status 0, or 2
for a one-line error.
"""

from __future__ import annotations

import argparse

EPILOG = """\
examples:
  omnet measure tumour.nii.gz
  omnet measure corrected.nii.gz --labels brats2023 --json lesions.json

First the label scheme and where it came from (--labels, the header omnet segment writes,
or the values), then the total volumes (mL) of whole tumour, core, enhancing, necrosis and
edema and the lesion count of each region. Lesions are connected components (26-connectivity) of the
whole tumour, tumour core and enhancing tumour, with volume (mL), maximal 3D diameter (mm,
edge to edge) and centre (RAS mm).
Enhancing lesions get the RANO bidimensional measurement on the patient's axial plane: the
longest diameter on the slice where it is largest and the longest diameter perpendicular to
it (edge to edge, mm), their product, and whether the lesion is measurable (both >= 10 mm,
or twice the slice thickness above 5 mm, on 2 or more slices); the sum of products is taken
over up to 5 target lesions (the largest measurable ones)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "measure", help="total and per-lesion volumes, centres and RANO diameters of a label "
                   "map",
        description="Per-lesion clinical report of a label map: volume, centre and, for "
                    "enhancing lesions, the RANO bidimensional measurement.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("labels", metavar="LABELS", help="label map file (NIfTI, NRRD, ...)")
    p.add_argument("--labels", dest="scheme", choices=("auto", "brats2018", "brats2023", "msd"),
                   default="auto", help="label scheme (default: the one named in the "
                                        "header of a file omnet segment wrote, else detect: "
                                        "4 -> brats2018, 3 -> brats2023)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from omnet.errors import OMNetError
    from omnet.measurement.report import lesion_table, measure_file
    from omnet.utils.atomic import atomic_write_json

    if args.json:  # a folder (or a name ending in /, which wrote a file) fails first
        from omnet.inference.outputs import check_file_destination

        check_file_destination(args.json, "the JSON report", "lesions.json")
    report = measure_file(args.labels, args.scheme)
    if args.json:
        try:
            atomic_write_json(args.json, {"file": str(args.labels),
                                          "labels_from": report.scheme_from, **report.to_dict()})
        except OSError as exc:
            raise OMNetError(f"cannot write {args.json}: {exc.strerror or exc}") from None
    print(lesion_table(report))
    return 0
