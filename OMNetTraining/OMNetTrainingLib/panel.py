"""What the OMNetTraining panel does when used (Slicer only).

Scan a dataset (``omnet train DATA --check``), start / stop / resume a training run
(``omnet train``) in a child process, show progress, ETA and live curves, and hand the
exported model to OMNetSegmentation ("Use this model").
"""

from __future__ import annotations

import time
from pathlib import Path

import qt
import slicer
from OMNetSegmentationLib import install, models
from OMNetSegmentationLib.job import JobOutcome, format_duration
from OMNetSegmentationLib.logic import TimedJob
from slicer.i18n import tr as _

from .command import TrainingOptions, check_arguments, folder_text, train_arguments
from .curves import TrainingCurves, curves_from_run
from .plots import TrainingPlots
from .scan import scan_rows, scan_summary

__all__ = ["TrainingPanel"]

PLOT_REFRESH_S = 2.0
#: A stopped run checkpoints at the end of its current iteration; give it time to do so (a
#: stop during the end-of-run BatchNorm re-estimation, about 2.5 min on a laptop CPU, waits
#: for that too).
STOP_GRACE_S = {"scan": 10.0, "train": 420.0}


class TrainingPanel:
    """Behaviour of the widgets in ``ui`` for the parameter node in :attr:`parameterNode`."""

    def __init__(self, ui) -> None:
        self.ui = ui
        self.parameterNode = None
        # the last run's model: kept here too, since a run often ends while another module
        # is shown and the panel has no parameter node (see OMNetTraining.setParameterNode)
        self.exportedModel = ""
        self.job: TimedJob | None = None
        self.jobKind = ""
        self.curves = TrainingCurves()
        self.plots: TrainingPlots | None = None
        self._plottedAt = 0.0

    @property
    def running(self) -> bool:
        return bool(self.job and self.job.running)

    def updateButtons(self, caller=None, event=None) -> None:
        p = self.parameterNode
        haveData = bool(p and folder_text(p.dataDir))
        haveOut = bool(p and folder_text(p.outDir))
        self.ui.scanButton.enabled = haveData and not self.running
        self.ui.startButton.enabled = haveData and haveOut and not self.running
        self.ui.resumeButton.enabled = haveData and haveOut and not self.running
        self.ui.stopButton.enabled = self.running and self.jobKind == "train"
        self.ui.useModelButton.enabled = bool(p and p.exportedModel) and not self.running
        self.ui.settingsCollapsibleButton.enabled = not self.running

    def showFolders(self) -> None:
        """Show the parameter node's folders in the two path fields (empty when unset)."""
        p = self.parameterNode
        for lineEdit, value in ((self.ui.dataDirLineEdit, p.dataDir if p else ""),
                                (self.ui.outDirLineEdit, p.outDir if p else "")):
            if lineEdit.currentPath != folder_text(value):
                lineEdit.blockSignals(True)  # the other field is not shown yet
                lineEdit.currentPath = folder_text(value)
                lineEdit.blockSignals(False)

    def onFoldersEdited(self, *args) -> None:
        """Keep the parameter node's folders in step with the two path fields."""
        p = self.parameterNode
        if p:
            p.dataDir = folder_text(self.ui.dataDirLineEdit.currentPath)
            p.outDir = folder_text(self.ui.outDirLineEdit.currentPath)

    def _ready(self) -> bool:
        try:
            return install.ensure_dependencies(ask=True)
        except Exception:  # already shown to the user by tryWithErrorDisplay
            return False

    def _start(self, kind: str, arguments: list, onFinished) -> None:
        self.ui.logText.clear()
        self.ui.progressBar.value = 0
        self.jobKind = kind
        self.job = TimedJob(onProgress=self.onProgress, onLog=self.ui.logText.appendPlainText,
                            onMetric=self.onMetric, onFinished=onFinished,
                            graceSeconds=STOP_GRACE_S[kind])
        try:
            self.job.start(arguments)
        except OSError as error:
            slicer.util.errorDisplay(_("Could not start omnet: {error}").format(error=error))
        self.updateButtons()

    def onScan(self) -> None:
        if self._ready():
            self.ui.statusLabel.text = _("Scanning the dataset...")
            self._start("scan", check_arguments(folder_text(self.parameterNode.dataDir)),
                        self.onScanFinished)

    def onStart(self, resume: bool = False) -> None:
        p = self.parameterNode
        try:
            options = TrainingOptions(folder_text(p.dataDir), folder_text(p.outDir), p.preset,
                                      p.variant, p.width, p.iterations, p.device, resume)
        except ValueError as error:
            slicer.util.errorDisplay(_("These settings cannot be used: {error}").format(
                error=error))
            return
        if not self._ready():
            return
        p.exportedModel = ""
        self.curves = curves_from_run(options.out_dir) if resume else TrainingCurves()
        self.plots = TrainingPlots(Path(options.out_dir).name or "OMNet run")
        self.plots.show(self.ui.chartComboBox.currentText.lower())
        self.ui.statusLabel.text = _("Resuming...") if resume else _("Starting...")
        self._start("train", train_arguments(options), self.onTrainFinished)

    def onStop(self) -> None:
        if self.running:
            self.ui.statusLabel.text = _("Stopping (the last checkpoint is kept; Resume "
                                         "continues from it)...")
            self.job.cancel()

    def onProgress(self, fraction: float, stage: str) -> None:
        if self.jobKind == "scan" or not self.curves.latest_train:
            self.ui.progressBar.value = round(100 * fraction)
            self.ui.statusLabel.text = stage

    def onMetric(self, data: dict) -> None:
        if self.curves.add(data) is None:
            return
        fraction, secondsLeft = self.curves.progress()
        self.ui.progressBar.value = round(100 * fraction)
        left = format_duration(secondsLeft)
        self.ui.statusLabel.text = self.curves.status_text() + (
            _("; about {time} left").format(time=left) if left else "")
        if self.plots and (time.monotonic() - self._plottedAt > PLOT_REFRESH_S
                           or data.get("kind") == "validation"):
            self.plots.update(self.curves)
            self._plottedAt = time.monotonic()

    def onChartChanged(self, text: str) -> None:
        if self.plots:
            self.plots.show(text.lower())

    def onScanFinished(self, outcome: JobOutcome) -> None:
        self.updateButtons()
        if outcome.result is None:  # no usable case still reports its table; no table is a failure
            self._failed(outcome)
            return
        try:
            rows = scan_rows(outcome.result)
        except ValueError as error:
            slicer.util.errorDisplay(str(error), detailedText=outcome.details)
            return
        table = self.ui.scanTable
        table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, text in enumerate((row.case, row.status, row.labels, row.problem)):
                table.setItem(index, column, qt.QTableWidgetItem(text))
        self.ui.progressBar.value = 100
        self.ui.scanSummaryLabel.text = scan_summary(rows)
        self.ui.statusLabel.text = _("Scan finished.")

    def onTrainFinished(self, outcome: JobOutcome) -> None:
        if self.plots:
            self.plots.update(self.curves)
        if not outcome.succeeded:
            self.updateButtons()
            self._failed(outcome)
            return
        model = str((outcome.result or {}).get("model") or "")
        self.exportedModel = model
        if self.parameterNode is not None:
            self.parameterNode.exportedModel = model
        self.ui.progressBar.value = 100
        self.ui.modelPathLabel.text = model
        self.ui.statusLabel.text = _("Training finished in {time}.").format(
            time=format_duration(self.job.monitor.elapsed))
        self.updateButtons()

    def _failed(self, outcome: JobOutcome) -> None:
        self.ui.statusLabel.text = outcome.message
        if outcome.status == "failed":
            slicer.util.errorDisplay(outcome.message, detailedText=outcome.details)

    def onUseModel(self) -> None:
        """Add the exported model to the list OMNetSegmentation offers, and select it there."""
        model = self.parameterNode.exportedModel
        settings = qt.QSettings()
        known = models.parse_trained_models(settings.value(models.TRAINED_MODELS_KEY, "[]"))
        settings.setValue(models.TRAINED_MODELS_KEY,
                          models.serialize_trained_models(models.add_trained_model(known, model)))
        widget = getattr(slicer.modules, "OMNetSegmentationWidget", None)
        if widget is not None and widget.panel.parameterNode is not None:
            widget.panel.parameterNode.modelPath = str(Path(model).resolve())
            widget.panel.refreshModels()
        self.ui.statusLabel.text = _("The model is now selectable in OMNet Brain Tumour "
                                     "Segmentation.")
