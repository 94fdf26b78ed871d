"""How far a real series can be out of line and still be registered back: one sequence of a
case moved further by known rigid motions, then aligned by the preparation's ``auto`` rule.

For each motion (rotation in degrees about the series' centre, then a shift in mm) the
error is the largest distance, over the corners of the reference's head box, between the
registration found for the moved series and the one found for it unmoved followed by the
motion: what the motion adds to the registration's error. Needs a case whose sequences are
on several grids (raw scanner series, e.g. TCGA-FG-6692 in BrainLesion/preprocessing's
examples; see ``benchmark_raw_patient.py``). A benchmark, not a test.

    python benchmarks/benchmark_alignment.py RAW_DIR [--sequence flair]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from omnet.data.discovery import find_case_files
from omnet.data.naming import SEQUENCE_ROLES
from omnet.preparation.alignment import align, head_points, max_displacement

MOTIONS = (((0, 0, 0), (30, 0, 0)), ((10, 0, 10), (20, -20, 10)), ((0, 0, 20), (0, 40, 0)),
           ((15, 10, -15), (40, 30, -20)))


def moved(image: sitk.Image, degrees, shift_mm) -> tuple[sitk.Image, sitk.Transform]:
    """``image`` with its header moved by the rigid motion, and that motion (old -> new
    physical points)."""
    motion = sitk.Euler3DTransform()
    motion.SetCenter(image.TransformContinuousIndexToPhysicalPoint(
        [(s - 1) / 2 for s in image.GetSize()]))
    motion.SetRotation(*np.radians(degrees))
    motion.SetTranslation(tuple(float(v) for v in shift_mm))
    rotation = np.asarray(motion.GetMatrix()).reshape(3, 3)
    out = sitk.Image(image)
    out.SetDirection(tuple((rotation @ np.asarray(image.GetDirection()).reshape(3, 3)).ravel()))
    out.SetOrigin(motion.TransformPoint(image.GetOrigin()))
    return out, motion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", type=Path, help="folder of the four raw series")
    parser.add_argument("--sequence", default="flair", choices=[r for r in SEQUENCE_ROLES
                                                                 if r != "t1ce"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    files = find_case_files(args.case)
    images = {role: sitk.ReadImage(str(getattr(files, role)), sitk.sitkFloat32)
              for role in SEQUENCE_ROLES}
    unmoved, record = align(images, "t1ce", "auto")
    if unmoved[args.sequence] is None:
        raise SystemExit(f"{args.sequence} needs no registration here: "
                         f"{record['sequences'][args.sequence]['reason']}")
    corners = head_points(images["t1ce"])
    print(f"{args.sequence} unmoved: {record['sequences'][args.sequence]['reason']}")
    for degrees, shift in MOTIONS:
        image, motion = moved(images[args.sequence], degrees, shift)
        found, record = align(dict(images, **{args.sequence: image}), "t1ce", "auto")
        expected = sitk.CompositeTransform(motion)
        expected.AddTransform(unmoved[args.sequence])
        error = max_displacement(found[args.sequence], corners, expected)
        entry = record["sequences"][args.sequence]
        print(f"moved {degrees} degrees, {shift} mm: registration moved it "
              f"{entry.get('displacement_mm', 0.0):.1f} mm; error {error:.1f} mm")


if __name__ == "__main__":
    main()
