"""OM-Net brain tumour segmentation: model family, inference, training and evaluation.

Importing :mod:`omnet` is cheap and never imports torch; heavy modules load on first use,
so the Slicer modules and ``omnet --help`` stay fast.
"""

from __future__ import annotations

from typing import Any

from omnet.inference.settings import SegmentSettings  # torch-free, light

__version__ = "0.1.0"
__all__ = ["SegmentSettings", "__version__", "segment"]


def segment(*args: Any, **kwargs: Any) -> Any:
    """Segment one case; see :func:`omnet.inference.pipeline.segment` for the arguments."""
    from omnet.inference.pipeline import segment as _segment

    return _segment(*args, **kwargs)
