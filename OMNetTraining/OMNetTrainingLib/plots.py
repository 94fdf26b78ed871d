"""Live training curves as Slicer plot charts (Slicer only).

One table node and one plot series node per curve, in two charts: the losses and the
validation Dice. :meth:`TrainingPlots.update` refills the tables from
:class:`.curves.TrainingCurves` (decimated, so long runs stay light).
"""

from __future__ import annotations

import numpy as np
import slicer

from .curves import TrainingCurves

__all__ = ["TrainingPlots"]

_PALETTE = ((0.85, 0.33, 0.10), (0.00, 0.45, 0.74), (0.47, 0.67, 0.19),
            (0.49, 0.18, 0.56), (0.93, 0.69, 0.13), (0.30, 0.75, 0.93))


class TrainingPlots:
    """The loss chart and the Dice chart of one training run."""

    def __init__(self, runName: str) -> None:
        self.charts = {
            "loss": self._chart(f"{runName} loss", "loss (cross-entropy)"),
            "dice": self._chart(f"{runName} validation Dice", "Dice"),
        }
        self.series: dict[str, tuple[object, object]] = {}

    @staticmethod
    def _chart(name: str, yTitle: str):
        chartNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLPlotChartNode", name)
        chartNode.SetTitle(name)
        chartNode.SetXAxisTitle("iteration")
        chartNode.SetYAxisTitle(yTitle)
        return chartNode

    def _add_series(self, title: str):
        chartNode = self.charts["dice" if title.startswith("Dice") else "loss"]
        tableNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode", f"{title} table")
        seriesNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", title)
        seriesNode.SetAndObserveTableNodeID(tableNode.GetID())
        seriesNode.SetXColumnName("iteration")
        seriesNode.SetYColumnName("value")
        seriesNode.SetPlotType(slicer.vtkMRMLPlotSeriesNode.PlotTypeScatter)
        seriesNode.SetMarkerStyle(slicer.vtkMRMLPlotSeriesNode.MarkerStyleNone)
        seriesNode.SetLineStyle(slicer.vtkMRMLPlotSeriesNode.LineStyleSolid)
        seriesNode.SetColor(*_PALETTE[len(self.series) % len(_PALETTE)])
        chartNode.AddAndObservePlotSeriesNodeID(seriesNode.GetID())
        self.series[title] = (tableNode, seriesNode)
        return tableNode

    def update(self, curves: TrainingCurves) -> None:
        """Refill every curve's table from the current data."""
        for title, (xs, ys) in curves.series().items():
            tableNode = self.series[title][0] if title in self.series else self._add_series(title)
            slicer.util.updateTableFromArray(
                tableNode, [np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)],
                ["iteration", "value"])
        for chartNode in self.charts.values():
            chartNode.Modified()

    def show(self, which: str) -> None:
        """Show the ``loss`` or ``dice`` chart in the view layout."""
        slicer.modules.plots.logic().ShowChartInLayout(self.charts[which])
