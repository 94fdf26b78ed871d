"""Draw the extension and module icons (128 x 128 PNG) with Pillow.

An axial brain slice with a tumour in the segment colours of OMNetSegmentation (edema,
enhancing rim, necrotic core); the training icon adds a falling loss curve.

    python tools/make_icons.py          # rewrites the three icons
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "OMNetSegmentation"))

from OMNetSegmentationLib.segments import SEGMENTS  # noqa: E402 - after the path is set

SIZE = 128
SCALE = 4  # draw large, then shrink: smooth edges without an anti-aliasing library
BACKGROUND = (27, 38, 59, 255)
BRAIN = (205, 208, 214, 255)
SULCI = (150, 155, 165, 255)
CURVE = (255, 255, 255, 255)


def rgba(color: tuple[float, float, float]) -> tuple[int, int, int, int]:
    return (*(round(255 * c) for c in color), 255)


def box(cx: float, cy: float, rx: float, ry: float) -> tuple[float, float, float, float]:
    """Bounding box of an ellipse in icon pixels, scaled to the drawing canvas."""
    return ((cx - rx) * SCALE, (cy - ry) * SCALE, (cx + rx) * SCALE, (cy + ry) * SCALE)


def draw_icon(with_curve: bool) -> Image.Image:
    colors = {spec.key: rgba(spec.color) for spec in SEGMENTS}
    image = Image.new("RGBA", (SIZE * SCALE, SIZE * SCALE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, SIZE * SCALE - 1, SIZE * SCALE - 1), radius=22 * SCALE,
                           fill=BACKGROUND)
    draw.ellipse(box(64, 66, 44, 52), fill=BRAIN)
    draw.line([(64 * SCALE, 16 * SCALE), (64 * SCALE, 116 * SCALE)], fill=SULCI,
              width=3 * SCALE)
    for cx, cy in ((44, 40), (84, 40), (40, 92), (88, 92)):
        draw.arc(box(cx, cy, 12, 8), 200, 340, fill=SULCI, width=2 * SCALE)
    draw.ellipse(box(80, 58, 24, 21), fill=colors["edema"])
    draw.ellipse(box(82, 58, 14, 12), fill=colors["enhancing"])
    draw.ellipse(box(83, 58, 7, 6), fill=colors["necrotic"])
    if with_curve:
        draw.rounded_rectangle(box(34, 98, 28, 24), radius=6 * SCALE, fill=BACKGROUND,
                               outline=CURVE, width=2 * SCALE)
        points = [(14, 80), (20, 94), (28, 103), (38, 108), (50, 111), (57, 112)]
        draw.line([(x * SCALE, y * SCALE) for x, y in points], fill=colors["enhancing"],
                  width=4 * SCALE, joint="curve")
    return image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main() -> None:
    targets = {
        REPO / "Resources/Icons/OMNetExtension.png": False,
        REPO / "OMNetSegmentation/Resources/Icons/OMNetSegmentation.png": False,
        REPO / "OMNetTraining/Resources/Icons/OMNetTraining.png": True,
    }
    for path, with_curve in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        draw_icon(with_curve).save(path, optimize=True)
        print(path.relative_to(REPO))


if __name__ == "__main__":
    main()
