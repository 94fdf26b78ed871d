"""OMNetTraining: train OM-Net on a local BraTS-style dataset from inside Slicer.

A thin Slicer layer: ``omnet train`` runs in a child process (Slicer stays responsive);
scan, curves and commands live in OMNetTrainingLib (tested outside Slicer).
"""

from pathlib import Path
from typing import Annotated

import qt
import slicer
import vtk
from OMNetSegmentationLib import binding, support
from OMNetSegmentationLib.command import DEVICE_CHOICES
from OMNetTrainingLib.command import PRESETS, VARIANT_CHOICES
from OMNetTrainingLib.panel import TrainingPanel
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin


class OMNetTraining(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("OMNet Training")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Segmentation")]
        self.parent.dependencies = ["OMNetSegmentation", "Plots"]
        self.parent.contributors = ["OMNet for 3D Slicer contributors"]
        self.parent.helpText = _(
            "Trains OM-Net on a folder of BraTS-style cases (four sequences and a label map "
            "per case, or the Medical Segmentation Decathlon layout) with the paper's "
            "curriculum, and makes the exported model available in OMNet Brain Tumour "
            "Segmentation.")
        self.parent.acknowledgementText = _(
            "OM-Net: C. Zhou, C. Ding, X. Wang, Z. Lu, D. Tao, IEEE TIP 2020.")


@parameterNodeWrapper
class OMNetTrainingParameterNode:
    # Plain text, not Path: an unset Path reads "." and would show as a chosen folder.
    dataDir: str = ""
    outDir: str = ""
    preset: Annotated[str, Choice(list(PRESETS))] = "quick"
    variant: Annotated[str, Choice(list(VARIANT_CHOICES))] = VARIANT_CHOICES[0]
    width: Annotated[int, WithinRange(0, 256)] = 0
    iterations: Annotated[int, WithinRange(0, 100_000_000)] = 0
    device: Annotated[str, Choice(list(DEVICE_CHOICES))] = "auto"
    exportedModel: str = ""


class OMNetTrainingWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        version = (slicer.app.majorVersion, slicer.app.minorVersion)
        if support.show_if_unsupported(self.layout, version, qt):  # say so, fail nowhere
            self.panel = None
            return
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/OMNetTraining.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = OMNetTrainingLogic()
        self.panel = panel = TrainingPanel(self.ui)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.scanButton.connect("clicked()", lambda: panel.onScan())
        self.ui.startButton.connect("clicked()", lambda: panel.onStart(resume=False))
        self.ui.resumeButton.connect("clicked()", lambda: panel.onStart(resume=True))
        self.ui.stopButton.connect("clicked()", lambda: panel.onStop())
        self.ui.useModelButton.connect("clicked()", lambda: panel.onUseModel())
        self.ui.chartComboBox.connect("currentTextChanged(QString)", panel.onChartChanged)
        for lineEdit in (self.ui.dataDirLineEdit, self.ui.outDirLineEdit):
            lineEdit.connect("currentPathChanged(QString)", panel.onFoldersEdited)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        if self.panel and self.panel.running:
            self.panel.job.cancel()
        self.removeObservers()

    def enter(self) -> None:
        if self.panel:
            self.initializeParameterNode()

    def exit(self) -> None:
        if self.panel:
            self.setParameterNode(None)

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())

    def setParameterNode(self, parameterNode) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode.parameterNode, vtk.vtkCommand.ModifiedEvent,
                                self.panel.updateButtons)
        self._parameterNode = self.panel.parameterNode = parameterNode
        if parameterNode:
            self._parameterNodeGuiTag = binding.connect_gui(parameterNode, self.ui)
            if self.panel.exportedModel:  # a run that finished while the panel was hidden
                parameterNode.exportedModel = self.panel.exportedModel
            self.addObserver(parameterNode.parameterNode, vtk.vtkCommand.ModifiedEvent,
                             self.panel.updateButtons)
            self.panel.showFolders()
            self.panel.updateButtons()


class OMNetTrainingLogic(ScriptedLoadableModuleLogic):
    def getParameterNode(self):
        return OMNetTrainingParameterNode(super().getParameterNode())


class OMNetTrainingTest(ScriptedLoadableModuleTest):
    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_ParameterNodeAndCommands()

    def test_ParameterNodeAndCommands(self):
        from OMNetTrainingLib.command import TrainingOptions, folder_text, train_arguments

        parameterNode = OMNetTrainingLogic().getParameterNode()
        self.assertEqual((parameterNode.dataDir, parameterNode.outDir), ("", ""))
        parameterNode.dataDir = str(Path(slicer.app.temporaryPath))
        parameterNode.outDir = str(Path(slicer.app.temporaryPath) / "omnet-run")
        options = TrainingOptions(folder_text(parameterNode.dataDir),
                                  folder_text(parameterNode.outDir), parameterNode.preset,
                                  parameterNode.variant, parameterNode.width,
                                  parameterNode.iterations, parameterNode.device)
        arguments = train_arguments(options)
        self.assertEqual(arguments[:2], ["train", str(Path(slicer.app.temporaryPath))])
        self.assertNotIn("--variant", arguments)
        self.delayDisplay("Test passed")
