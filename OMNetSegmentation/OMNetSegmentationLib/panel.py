"""What the OMNetSegmentation panel does when used (Slicer only).

The module widget owns the parameter node and the scene observers; this class reacts to
the buttons: fills the selectors from volume names, lists models, starts and cancels a run,
shows progress, errors and results. Decisions are delegated to the pure modules.
"""

from __future__ import annotations

import qt
import slicer
from slicer.i18n import tr as _

from omnet.bundled import list_bundled_models
from omnet.card import read_card
from omnet.data.naming import SEQUENCE_ROLES

from . import install, lesionscene, models, scene, skullcheck
from .command import SegmentOptions
from .demo import DemoCase
from .guide import DEMO_LOADED, INPUT_REQUIREMENTS, update_question
from .job import format_duration
from .lesions import summary_text
from .logic import RunResult, SegmentationRun
from .roles import (
    Volume,
    assign_roles,
    patient_problem,
    selection_problem,
    series_problem,
    transform_problem,
)
from .segments import volume_rows

__all__ = ["ROLES", "SegmentationPanel"]

ROLES = SEQUENCE_ROLES


class SegmentationPanel:
    """Behaviour of the widgets in ``ui`` for the parameter node in :attr:`parameterNode`."""

    def __init__(self, ui, parent) -> None:
        self.ui, self.parent = ui, parent
        self._parameterNode = None
        # the nodes of a run that ended while the module was hidden (no parameter node)
        self.pendingResult: RunResult | None = None
        self.run: SegmentationRun | None = None
        # an install is under way (pip in a child process, or PyTorch through the PyTorch
        # extension, which processes events between pip's lines): no second one may start
        self.installing = False
        self.pipInstall: install.PipInstall | None = None
        self.demo: DemoCase | None = None
        self.ui.inputsHelpLabel.text = INPUT_REQUIREMENTS
        self.choices: list[models.ModelChoice] = []
        self.modelFiles: list[str] = []

    @property
    def parameterNode(self):
        """The module's parameter node; None while another module is shown."""
        return self._parameterNode

    @parameterNode.setter
    def parameterNode(self, parameterNode) -> None:
        """Take the parameter node (the module is shown again) and give it the nodes of a run
        that ended meanwhile: otherwise 'Update existing', 'Measure lesions' and 'Show in
        3D' would keep working on the result before it."""
        self._parameterNode = parameterNode
        if parameterNode is not None and self.pendingResult is not None:
            result, self.pendingResult = self.pendingResult, None
            self._selectResult(result)

    def forgetResult(self) -> None:
        """Drop a run's nodes not yet given to the parameter node (the scene is closing)."""
        self.pendingResult = None

    def _selectResult(self, result: RunResult) -> None:
        self.parameterNode.outputSegmentation = result.segmentation
        if result.attention:
            self.parameterNode.attentionVolume = result.attention[0]

    @property
    def running(self) -> bool:
        return bool(self.run and self.run.running)

    def inputVolumes(self) -> dict:
        p = self.parameterNode
        return {role: getattr(p, f"{role}Volume") if p else None for role in ROLES}

    def detectRoles(self, newIds=()) -> None:
        """Fill the four selectors from the volume names (volumes in ``newIds`` first)."""
        if not self.parameterNode or self.running:
            return
        volumes = [Volume(n.GetID(), n.GetName(), scene.acquisition_role(n),
                          scene.channel_order(n), scene.series_frames(n))
                   for n in slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode")
                   # what the selectors show: no label map, vector, tensor or DWI volume
                   if n.GetClassName() == "vtkMRMLScalarVolumeNode"
                   and not n.GetAttribute(scene.ATTENTION_ATTRIBUTE)]
        current = {role: n.GetID() if n else None for role, n in self.inputVolumes().items()}
        assignment = assign_roles(volumes, current, newIds)
        with slicer.util.NodeModify(self.parameterNode.parameterNode):
            for role, nodeId in assignment.roles.items():
                node = slicer.mrmlScene.GetNodeByID(nodeId) if nodeId else None
                setattr(self.parameterNode, f"{role}Volume", node)
        self.ui.rolesLabel.text = " ".join(
            _("Several volumes look like {role}: using {name}.").format(
                role=c.role.upper(), name=slicer.mrmlScene.GetNodeByID(c.chosen).GetName())
            for c in assignment.conflicts)

    def onLoadDemo(self) -> None:
        """Make the synthetic demo case and load it; its volumes then fill the selectors."""
        if self.running or (self.demo and self.demo.running):
            return
        self.ui.statusLabel.text = _("Making the demo case (about half a minute)...")
        self.demo = DemoCase(self._demoLoaded)
        try:
            self.demo.start()
        except OSError as error:
            slicer.util.errorDisplay(_("Could not start omnet: {error}").format(error=error))
        self.updateButtons()

    def _demoLoaded(self, nodes, message: str) -> None:
        self.updateButtons()
        if nodes is None:
            self.ui.statusLabel.text = message
            slicer.util.errorDisplay(message)
            return
        self.detectRoles({node.GetID() for role, node in nodes.items() if role != "seg"})
        self.ui.statusLabel.text = DEMO_LOADED

    def refreshModels(self) -> None:
        """Bundled, trained (from OMNetTraining) and loaded models in the selector."""
        trained = models.parse_trained_models(
            qt.QSettings().value(models.TRAINED_MODELS_KEY, "[]"))
        self.choices = models.model_choices(list_bundled_models(), trained, self.modelFiles)
        paths = [choice.path for choice in self.choices]
        wanted = self.parameterNode.modelPath if self.parameterNode else ""
        combo = self.ui.modelComboBox
        combo.blockSignals(True)
        combo.clear()
        for index, choice in enumerate(self.choices):
            combo.addItem(choice.title)
            combo.setItemData(index, choice.description, qt.Qt.ToolTipRole)
        combo.currentIndex = paths.index(wanted) if wanted in paths else 0
        combo.blockSignals(False)
        self.onModelChanged(combo.currentIndex)

    def onModelChanged(self, index: int) -> None:
        if self.parameterNode and 0 <= index < len(self.choices):
            self.parameterNode.modelPath = self.choices[index].path

    def onLoadModel(self) -> None:
        path = qt.QFileDialog.getOpenFileName(self.parent, _("Load OMNet model"), "",
                                              _("OMNet model (*.safetensors)"))
        if path and self.parameterNode:
            with slicer.util.tryWithErrorDisplay(_("This file is not an OMNet model.")):
                read_card(path)
                self.modelFiles.append(path)
                self.parameterNode.modelPath = path
                self.refreshModels()

    def onInstall(self) -> None:
        if not self.installing:
            self._whenInstalled(install.dependencies_to_install, lambda: setattr(
                self.ui.statusLabel, "text",
                _("All Python packages OMNet needs are installed.")))

    def _whenInstalled(self, prepare, then, otherwise=None) -> None:
        """Ask and install what ``prepare`` finds missing (an :class:`.install.PipInstall`,
        None when declined), pip in a child process while Slicer stays responsive, with the
        buttons that start one disabled and pip's lines in the log; then call ``then()``, or
        ``otherwise(status)`` when declined, failed (shown) or cancelled."""
        self.installing = True
        self.updateButtons()
        self.ui.statusLabel.text = _("Checking and installing Python packages (this can take "
                                     "several minutes)...")
        try:  # the question, and PyTorch through the PyTorch extension's own call
            pending = prepare(True)
        except Exception:  # already shown to the user by tryWithErrorDisplay
            pending = None
        if pending is None or not pending.needed:
            self._installEnded(then, otherwise, "succeeded" if pending else "failed", "")
            return
        self.ui.logText.clear()
        self.ui.statusLabel.text = _("Installing {packages} (this can take several minutes)..."
                                     ).format(packages=", ".join(pending.plan.pip))
        self.pipInstall = pending
        try:
            pending.start(self.ui.logText.appendPlainText, lambda status, message:
                          self._installEnded(then, otherwise, status, message))
        except OSError as error:
            self._installEnded(then, otherwise, "failed", _(
                "Could not start pip: {error}").format(error=error))
            return
        self.updateButtons()

    def _installEnded(self, then, otherwise, status: str, message: str) -> None:
        self.installing = False
        self.ui.statusLabel.text = message
        self.updateButtons()
        if status == "succeeded":
            then()
            return
        if status == "failed" and message:
            slicer.util.errorDisplay(message)
        if otherwise:
            otherwise(status)

    def _whenSkullStrippingReady(self, required: bool, volumes, then) -> None:
        """Offer the brain-extraction package once per session; with skull strip ``auto``
        scans that already look stripped need no question, and a refusal still runs, with
        ``on`` it stops."""
        if not required and (getattr(self, "_skullStripDeclined", False)
                             or skullcheck.inputs_look_stripped(scene.voxel_arrays(volumes))):
            then()
            return

        def notInstalled(status: str) -> None:
            if status == "cancelled":  # Cancel stops the run too
                return
            self._skullStripDeclined = True
            if not required:
                then()

        self._whenInstalled(install.skull_stripping_to_install, then, notInstalled)

    @property
    def pipRunning(self) -> bool:
        return bool(self.installing and self.pipInstall and self.pipInstall.running)

    def updateButtons(self, caller=None, event=None) -> None:
        ready = all(self.inputVolumes().values())
        cancel = self.running or self.pipRunning
        self.ui.applyButton.text = _("Cancel") if cancel else _("Segment tumor")
        self.ui.applyButton.enabled = cancel or (ready and not self.installing)
        self.ui.installButton.enabled = not self.installing
        self.ui.applyButton.toolTip = "" if self.running or ready else _(
            "Select the FLAIR, T1, T1c and T2 volumes.")
        self.ui.inputsCollapsibleButton.enabled = not self.running
        self.ui.loadDemoButton.enabled = not self.running and not self.installing and not (
            self.demo and self.demo.running)
        self.ui.optionsCollapsibleButton.enabled = not self.running

    def onApply(self) -> None:
        """Start a run, or cancel the one in progress (the button doubles as Cancel)."""
        if self.running:
            self.ui.statusLabel.text = _("Stopping...")
            self.run.cancel()
            return
        if self.pipRunning:
            self.ui.statusLabel.text = _("Stopping...")
            self.pipInstall.cancel()
            return
        if self.installing:  # clicked again while the PyTorch install processes events
            return
        volumes = self.inputVolumes()
        problem = selection_problem({role: node.GetID() for role, node in volumes.items()}) \
            or series_problem({role: (node.GetName(), scene.series_frames(node))
                               for role, node in volumes.items()}) \
            or transform_problem([node.GetTransformNodeID() for node in volumes.values()])
        if problem:
            slicer.util.errorDisplay(problem)
            return
        mixed = patient_problem({role: scene.patient_of(node) for role, node in volumes.items()})
        if mixed and not slicer.util.confirmOkCancelDisplay(mixed, _("OMNet: several patients")):
            return
        p = self.parameterNode
        target = p.outputSegmentation if p.updateExisting else None
        if target is not None and not slicer.util.confirmOkCancelDisplay(
                update_question(target.GetName()), _("OMNet: replace the segments?")):
            return
        self._whenInstalled(install.dependencies_to_install,
                            lambda: self._afterDependencies(p, volumes, target))

    def _afterDependencies(self, p, volumes, target) -> None:
        if p.skullStrip == "off":
            self._startRun(p, volumes, target)
        else:
            self._whenSkullStrippingReady(p.skullStrip == "on", volumes,
                                          lambda: self._startRun(p, volumes, target))

    def _startRun(self, p, volumes, target) -> None:
        options = SegmentOptions(model=p.modelPath, device=p.device, mode=p.mode,
                                 postprocess=p.postprocess, attention=p.attentionMaps,
                                 skull_strip=p.skullStrip, register=p.register,
                                 bias_correction=p.biasCorrection,
                                 match_resolution=p.matchResolution,
                                 output_grid="auto" if p.fineGrid else "reference")
        self.ui.logText.clear()
        self.ui.progressBar.value = 0
        self.ui.statusLabel.text = _("Starting...")
        self.run = SegmentationRun(volumes, options, target, p.show3D, self.onProgress,
                                   self.ui.logText.appendPlainText, self.onDone)
        try:
            self.run.start()
        except (OSError, RuntimeError, ValueError) as error:
            slicer.util.errorDisplay(_("Could not start the segmentation: {error}").format(
                error=error))
        self.updateButtons()

    def onProgress(self, fraction: float, stage: str, secondsLeft: float | None) -> None:
        self.ui.progressBar.value = round(100 * fraction)
        left = format_duration(secondsLeft)
        self.ui.statusLabel.text = stage + (
            _(" (about {time} left)").format(time=left) if left else "")

    def onDone(self, result: RunResult) -> None:
        outcome = result.outcome
        self.updateButtons()
        if not outcome.succeeded:
            self.ui.statusLabel.text = outcome.message
            if outcome.status == "failed":
                slicer.util.errorDisplay(outcome.message, detailedText=outcome.details)
            return
        self.ui.progressBar.value = 100
        prepared = (outcome.result or {}).get("preparation")  # what was done to the inputs
        self.ui.statusLabel.text = _("Done in {time}.").format(
            time=format_duration(self.run.monitor.elapsed)) + (f" {prepared}" if prepared else "")
        if self.parameterNode:
            self._selectResult(result)
        else:  # another module is shown: given to the parameter node when it is back
            self.pendingResult = result
        rows = volume_rows((outcome.result or {}).get("volumes_ml") or {})
        self.ui.volumeTable.setRowCount(len(rows))
        for row, (region, value) in enumerate(rows):
            self.ui.volumeTable.setItem(row, 0, qt.QTableWidgetItem(region))
            self.ui.volumeTable.setItem(row, 1, qt.QTableWidgetItem(value))
        self.showLesions(result.lesions, result.segmentation)
        if outcome.warnings:  # e.g. a series with another patient's brain outline
            slicer.util.warningDisplay(outcome.warnings, windowTitle=_("OMNet: check the inputs"))

    def showLesions(self, report, segmentationNode) -> None:
        """The lesion table and RANO lines of ``segmentationNode`` (see lesionscene)."""
        if not report or segmentationNode is None:
            return
        tableNode, _lines = lesionscene.show_lesions(report, segmentationNode)
        self.ui.lesionTableView.setMRMLTableNode(tableNode)
        self.ui.lesionSummaryLabel.text = summary_text(report)

    def onMeasureLesions(self) -> None:
        """Re-measure the output segmentation as it is now (after edits), without the network."""
        p = self.parameterNode
        segmentationNode = p.outputSegmentation if p else None
        if segmentationNode is None or p.t1ceVolume is None:
            slicer.util.errorDisplay(_("Select the T1c volume and an output segmentation."))
            return
        with slicer.util.tryWithErrorDisplay(_("Could not measure the lesions."),
                                             waitCursor=True):
            report = lesionscene.measure_segmentation(segmentationNode, p.t1ceVolume)
            self.showLesions(report, segmentationNode)

    def onShow3D(self, show: bool) -> None:
        node = self.parameterNode.outputSegmentation if self.parameterNode else None
        if node:
            scene.set_visibility_3d(node, show)

    def updateAttention(self, *args) -> None:
        scene.show_attention(self.ui.attentionSelector.currentNode(),
                             self.ui.attentionOpacitySlider.value)
