"""OM-Net brain tumour segmentation: model family, inference, training and evaluation.

Importing :mod:`omnet` is cheap and never imports torch; heavy modules load on first use,
so the Slicer modules and ``omnet --help`` stay fast. The Python API:

- :func:`segment` (one case: folder, 4D file, zip, or a dict of images / arrays),
- :func:`load_model` (load a model once, then ``segment(case, model=loaded)`` per case),
- :class:`SegmentSettings` (the options), :class:`SegmentationResult` (what comes back).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from omnet.inference.settings import SegmentSettings  # torch-free, light

if TYPE_CHECKING:
    from omnet.inference.model_source import load_for_segment as load_model
    from omnet.inference.pipeline import SegmentationResult, segment

__version__ = "0.1.0"
__all__ = ["SegmentSettings", "SegmentationResult", "__version__", "load_model", "segment"]

#: Public names that import torch: loaded on first access (the real objects, so that
#: ``help(omnet.segment)`` and ``inspect.signature`` show their arguments and docstrings).
_LAZY = {"segment": ("omnet.inference.pipeline", "segment"),
         "SegmentationResult": ("omnet.inference.pipeline", "SegmentationResult"),
         "load_model": ("omnet.inference.model_source", "load_for_segment")}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'omnet' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value   # later accesses skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
