"""The preparation stage: hospital MRI in, what the network was trained on out, and back.

``prepare(raw, settings)`` runs, in order: reference grid -> alignment -> skull strip ->
bias field -> canonical 1 mm grid -> resolution matching (mixed slice thicknesses only) ->
normalise and crop; ``PreparedCase.restore`` brings
results back onto the reference sequence's grid.
"""

from __future__ import annotations

from omnet.preparation.grids import Cropped, Grid, Resampled
from omnet.preparation.settings import CHOICES, PrepareSettings
from omnet.preparation.stage import PreparedCase, prepare

__all__ = ["CHOICES", "Cropped", "Grid", "PrepareSettings", "PreparedCase", "Resampled",
           "prepare"]
