"""Logic behind the OMNetTraining module.

``command``, ``scan`` and ``curves`` never import ``slicer`` and are tested with pytest;
``plots`` is the thin layer that fills Slicer plot nodes. Running the child process reuses
``OMNetSegmentationLib.process`` and ``OMNetSegmentationLib.job``.
"""

# Makes the modules' own ``omnet`` importable before any submodule here imports it.
import OMNetSegmentationLib  # noqa: F401
