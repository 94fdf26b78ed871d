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
        # an install is under way: Slicer's pip_install processes events between pip's
        # lines, so a second click on 'Segment tumor' would start a second install in it
        self.installing = False
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
        if not self.installing and self._dependenciesReady():
            self.ui.statusLabel.text = _("All Python packages OMNet needs are installed.")

    def _installing(self, install_step, *args) -> bool:
        """Run an install step with the buttons that start one disabled and the status line
        saying what happens (it can take minutes); False when it failed (already shown)."""
        self.installing = True
        self.updateButtons()
        self.ui.statusLabel.text = _("Checking and installing Python packages (this can take "
                                     "several minutes)...")
        try:
            return install_step(*args)
        except Exception:  # already shown to the user by tryWithErrorDisplay
            return False
        finally:
            self.installing = False
            self.ui.statusLabel.text = ""
            self.updateButtons()

    def _dependenciesReady(self) -> bool:
        return self._installing(install.ensure_dependencies, True)

    def _skullStrippingReady(self, required: bool, volumes) -> bool:
        """Offer the brain-extraction package once per session; with skull strip ``auto``
        scans that already look stripped need no question, and a refusal still runs, with
        ``on`` it stops."""
        if getattr(self, "_skullStripDeclined", False) and not required:
            return True
        if not required and skullcheck.inputs_look_stripped(scene.voxel_arrays(volumes)):
            return True
        ready = self._installing(install.ensure_skull_stripping, True)
        if not ready:
            self._skullStripDeclined = True
        return ready or not required

    def updateButtons(self, caller=None, event=None) -> None:
        ready = all(self.inputVolumes().values())
        self.ui.applyButton.text = _("Cancel") if self.running else _("Segment tumor")
        self.ui.applyButton.enabled = (self.running or ready) and not self.installing
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
        if self.installing:  # clicked again while an install processes events
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
        if not self._dependenciesReady():
            return
        if p.skullStrip != "off" and not self._skullStrippingReady(p.skullStrip == "on",
                                                                   volumes):
            return
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
