"""The segmentation panel's reactions to a run's end and to the buttons, with Slicer, Qt and
VTK stood in (they exist only inside Slicer): what a clinician sees when a run ends while
another module is shown, or when a run would overwrite an earlier result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

PRELUDE = """
import json, sys, types
sys.path[:0] = [{testing!r}, {segmentation!r}]
from standins import StandInFinder
sys.meta_path.insert(0, StandInFinder((), ("slicer", "qt", "ctk", "vtk")))
import qt, slicer, slicer.i18n
slicer.i18n.tr = lambda text: text  # Slicer's tr returns the text where no translation is
slicer.util.getNodesByClass = lambda className, scene=None: []  # an empty scene: a list
from OMNetSegmentationLib.job import JobOutcome, SUCCEEDED
from OMNetSegmentationLib.logic import RunResult
from OMNetSegmentationLib.panel import SegmentationPanel

class Ui:
    # every widget the panel asks for: a Qt stand-in that keeps what is set on it
    def __getattr__(self, name):
        widget = qt.QWidget()
        setattr(self, name, widget)
        return widget

class Node:
    def __init__(self, name):
        self.name = name
    def GetName(self):
        return self.name

def parameters(**fields):
    return types.SimpleNamespace(outputSegmentation=None, attentionVolume=None, **fields)

class Volume(Node):  # a scalar volume loaded from a file, in no transform
    def GetID(self):
        return "vtkMRMLScalarVolumeNode_" + self.name
    def GetTransformNodeID(self):
        return None

def run_parameters(**fields):
    # the panel's options as the module's defaults set them, four volumes selected
    values = dict(updateExisting=False, skullStrip="auto", modelPath="", device="auto",
                  mode="fast", postprocess=True, attentionMaps=False, register="auto",
                  biasCorrection=False, matchResolution="auto", fineGrid=True, show3D=False)
    values.update(fields)
    volumes = dict((role + "Volume", Volume(role)) for role in ("flair", "t1", "t1ce", "t2"))
    return parameters(**values, **volumes)

panel = SegmentationPanel(Ui(), None)
"""


def run_script(body: str) -> dict:
    script = PRELUDE.format(testing=str(REPO / "Testing" / "Python"),
                            segmentation=str(REPO / "OMNetSegmentation")) + body
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_run_ending_while_another_module_is_shown_selects_its_result_on_return():
    """Left for another module during a run, the panel has no parameter node when the run
    ends; shown again, its output must be the new result, or 'Update existing' and 'Measure
    lesions' work on the result before it."""
    result = run_script("""
earlier, new, maps = Node("earlier"), Node("new"), Node("maps")
panel.parameterNode = None  # the module was left
panel.run = types.SimpleNamespace(running=False, monitor=types.SimpleNamespace(elapsed=20.0))
panel.onDone(RunResult(JobOutcome(SUCCEEDED, 0, result={"volumes_ml": {}}), new, [maps]))
shown = parameters()
shown.outputSegmentation = earlier
panel.parameterNode = shown  # the module is shown again
again = parameters()
panel.parameterNode = None
panel.parameterNode = again  # later visits: nothing to give any more
closed = SegmentationPanel(Ui(), None)
closed.run = panel.run
closed.onDone(RunResult(JobOutcome(SUCCEEDED, 0, result={}), new, [maps]))
closed.forgetResult()  # the scene closed before the module was shown again
afterClose = parameters()
closed.parameterNode = afterClose
print(json.dumps({"output": shown.outputSegmentation.GetName(),
                  "attention": shown.attentionVolume.GetName(),
                  "again": again.outputSegmentation,
                  "afterClose": afterClose.outputSegmentation}))
""")
    assert result == {"output": "new", "attention": "maps", "again": None,
                      "afterClose": None}


def test_a_run_whose_child_ends_as_the_scene_closes_imports_nothing():
    """The module's scene-close handler cancels a running run (``onSceneStartClose``:
    ``if panel.running: panel.run.cancel()``); a child that had already printed its RESULT
    and exited 0, not yet polled, was counted as succeeded and its result imported into the
    new, empty scene. The cancel must win: no import, and the panel says it stopped."""
    result = run_script("""
import tempfile
import OMNetSegmentationLib.logic as logic
from OMNetSegmentationLib.command import SegmentOptions
imported = []
slicer.util.tempDirectory = lambda key: tempfile.mkdtemp()
logic.scene.patient_name = lambda node: None
logic.scene.import_segmentation = lambda *args, **kwargs: imported.append(args) or Node("r")
logic.scene.store_volumes = logic.scene.show_segmentation = lambda *args: None

class EndedChild:  # printed RESULT and exited 0; the timer has not polled it yet
    cancelled = False
    lines = ['RESULT {"output": "labels.nii.gz", "volumes_ml": {}}']
    returncode = 0
    def start(self, argv, env=None, cwd=None):
        pass
    def read_lines(self):
        lines, self.lines = self.lines, []
        return lines
    def finished(self):
        return True
    def cancel(self):
        self.cancelled = True

volumes = {role: Node(role) for role in ("flair", "t1", "t1ce", "t2")}
run = logic.SegmentationRun(volumes, SegmentOptions(), onDone=panel.onDone)
run.job.monitor.runner = child = EndedChild()
run.job.monitor.start(["omnet"])
panel.run = run
if panel.running:  # the scene starts to close
    panel.run.cancel()
panel.forgetResult()
run.job._poll()  # the timer fires after the close
print(json.dumps({"cancelled": child.cancelled, "imported": len(imported),
                  "status": run.result.outcome.status,
                  "says": panel.ui.statusLabel.text}))
""")
    assert result == {"cancelled": True, "imported": 0, "status": "cancelled",
                      "says": "Stopped by the user."}


def test_update_existing_asks_before_it_replaces_the_segments_a_clinician_may_have_corrected():
    """'Update existing' replaces OMNet's three segments of the output segmentation, edits
    made in Segment Editor included; the run must ask first, and stop there on Cancel,
    before any install question or child process."""
    result = run_script("""
import OMNetSegmentationLib.panel as panel_module
asked, installs = [], []
slicer.util.confirmOkCancelDisplay = lambda text, title=None: asked.append(text) or False
panel_module.scene.patient_of = lambda node: None  # volumes loaded from files
panel_module.install.dependencies_to_install = lambda ask=True: installs.append(ask) or None

volumes = {role + "Volume": Volume(role) for role in ("flair", "t1", "t1ce", "t2")}
corrected = Node("P OMNet tumour")
panel.parameterNode = parameters(updateExisting=True, **volumes)
panel.parameterNode.outputSegmentation = corrected
panel.onApply()
update = {"asked": len(asked), "named": "'P OMNet tumour'" in asked[-1],
          "installs": len(installs), "run": panel.run is not None}
panel.parameterNode.updateExisting = False
panel.onApply()
print(json.dumps({"update": update, "asked": len(asked), "installs": len(installs)}))
""")
    assert result == {"update": {"asked": 1, "named": True, "installs": 0, "run": False},
                      "asked": 1, "installs": 1}


def test_a_frame_of_a_4d_series_is_neither_detected_nor_segmented():
    """A DCE series loaded from DICOM is a Sequence: Slicer shows its current frame as a
    plain vtkMRMLScalarVolumeNode, its proxy, which the selectors list and whose name may
    say T1. It was picked by auto-detection and, selected, only its current frame was
    segmented without a word. The browser node stand-in answers as Slicer's does
    (Modules/Loadable/Sequences/MRML/vtkMRMLSequenceBrowserNode.cxx, v5.8.1 and v5.12.3:
    ``IsProxyNodeID`` compares the IDs of its proxy nodes, ``GetSequenceNode(proxy)`` gives
    the sequence synchronised with it; Libs/MRML/Core/vtkMRMLSequenceNode.h
    ``GetNumberOfDataNodes``)."""
    result = run_script("""
import contextlib
import OMNetSegmentationLib.panel as panel_module
errors, installs = [], []
slicer.util.errorDisplay = lambda text, **kwargs: errors.append(text)
slicer.util.NodeModify = lambda node: contextlib.nullcontext()
panel_module.scene.patient_of = lambda node: None
panel_module.install.dependencies_to_install = lambda ask=True: installs.append(ask) or None

class Volume(Node):
    def GetID(self):
        return "vtkMRMLScalarVolumeNode_" + self.name
    def GetClassName(self):
        return "vtkMRMLScalarVolumeNode"
    def GetAttribute(self, name):
        return None
    def GetStorageNode(self):
        return None
    def GetTransformNodeID(self):
        return None

class SequenceNode:
    def __init__(self, frames):
        self.frames = frames
    def GetNumberOfDataNodes(self):
        return self.frames

class BrowserNode:  # one synchronised sequence and its proxy node
    def __init__(self, proxy, sequence):
        self.proxy, self.sequence = proxy, sequence
    def IsProxyNodeID(self, nodeId):
        return self.proxy.GetID() == nodeId
    def GetSequenceNode(self, proxyNode):
        return self.sequence if proxyNode is self.proxy else None

scans = {name: Volume(name) for name in ("FLAIR", "T1", "T1 post contrast DCE", "T2")}
dce = scans["T1 post contrast DCE"]
nodes = {"vtkMRMLScalarVolumeNode": list(scans.values()),
         "vtkMRMLSequenceBrowserNode": [BrowserNode(dce, SequenceNode(40))]}
slicer.util.getNodesByClass = lambda className, scene=None: nodes.get(className, [])
slicer.mrmlScene.GetNodeByID = lambda nodeId: next(
    (n for n in scans.values() if n.GetID() == nodeId), None)

panel.parameterNode = parameters(updateExisting=False, flairVolume=None, t1Volume=None,
                                 t1ceVolume=None, t2Volume=None)
panel.parameterNode.parameterNode = None
panel.detectRoles({n.GetID() for n in scans.values()})
detected = {role: node.GetName() if node else None
            for role, node in panel.inputVolumes().items()}
panel.parameterNode.t1ceVolume = dce  # chosen by hand in the selector
panel.onApply()
print(json.dumps({"detected": detected, "errors": errors, "installs": len(installs)}))
""")
    assert result["detected"] == {"flair": "FLAIR", "t1": "T1", "t1ce": None, "t2": "T2"}
    assert result["installs"] == 0
    assert len(result["errors"]) == 1
    assert result["errors"][0].startswith(
        "The T1c volume 'T1 post contrast DCE' is one frame of a series of 40")


def test_a_click_during_a_first_run_install_starts_no_second_install():
    """The PyTorch extension installs with Slicer's pip_install, which processes events
    between pip's output lines (util.py ``logProcessOutput``, v5.8.1 and v5.12.3), so 'Segment
    tumor' and 'Install dependencies' can be clicked during the minutes it takes; neither may
    start another install inside it, and the panel says an install is under way."""
    result = run_script("""
import OMNetSegmentationLib.panel as panel_module
installs, seen = [], {}
panel_module.scene.patient_of = lambda node: None

def install_with_clicks(ask=True):
    installs.append(ask)
    if len(installs) == 1:  # the user clicks again while pip's lines are processed
        seen.update(enabled=panel.ui.applyButton.enabled, status=panel.ui.statusLabel.text)
        panel.onApply()
        panel.onInstall()
    return None        # declined or failed: no run

panel_module.install.dependencies_to_install = install_with_clicks

panel.parameterNode = parameters(updateExisting=False, **{
    role + "Volume": Volume(role) for role in ("flair", "t1", "t1ce", "t2")})
panel.onApply()
print(json.dumps({"installs": len(installs), "enabled": seen["enabled"] is not False,
                  "says": "install" in str(seen["status"]),
                  "after": panel.ui.applyButton.enabled is True}))
""")
    assert result == {"installs": 1, "enabled": False, "says": True, "after": True}


def test_skull_strip_auto_offers_hd_bet_only_for_scans_that_show_a_skull():
    """With skull strip "auto" the 330 MB HD-BET install was offered before every run until
    declined, BraTS files included, which need no extraction: the panel now checks the
    selected volumes as the child would, and asks only when one shows skull and scalp."""
    result = run_script("""
import numpy as np
import OMNetSegmentationLib.panel as panel_module
from omnet.demo.generator import DemoSettings, make_demo_case
from omnet.demo.head import add_synthetic_head

case = make_demo_case(DemoSettings(size=(96, 96, 62), seed=5))
spacing_zyx = case.spacing[::-1]
heads = add_synthetic_head(case.images, spacing_zyx)
offered, started = [], []
panel_module.scene.patient_of = lambda node: None
panel_module.install.dependencies_to_install = lambda ask=True: types.SimpleNamespace(
    needed=False)
panel_module.install.skull_stripping_to_install = lambda ask=True: offered.append(ask)

class Run:
    def __init__(self, volumes, options, *rest):
        started.append(options.skull_strip)
    def start(self):
        pass
    running = True

panel_module.SegmentationRun = Run

def click(images):
    panel_module.scene.voxel_arrays = lambda volumes: {
        role: (images[role], case.spacing) for role in volumes}
    panel.run = None
    panel.onApply()
    return len(offered)

panel.parameterNode = run_parameters()
stripped = click(case.images)
with_skull = click(heads)
print(json.dumps({"stripped": stripped, "with_skull": with_skull, "runs": len(started)}))
""")
    assert result == {"stripped": 0, "with_skull": 1, "runs": 2}


PIP_CHILD = """
import tempfile
import OMNetSegmentationLib.install as install
import OMNetSegmentationLib.logic as logic
import OMNetSegmentationLib.panel as panel_module
from OMNetSegmentationLib.dependencies import InstallPlan

slicer.util.tempDirectory = lambda key: tempfile.mkdtemp()
slicer.util.confirmOkCancelDisplay = lambda text, title=None: True
errors, blocking, runs, children = [], [], [], []
slicer.util.errorDisplay = lambda text, **kwargs: errors.append(text)
slicer.util.pip_install = lambda arguments: blocking.append(arguments)  # on the GUI thread
panel_module.scene.patient_of = lambda node: None
plans = {"omnet": [InstallPlan(pip=("tqdm>=4.60",), constraints=("numpy==1.26.4",)),
                   InstallPlan()]}
install.current_plan = lambda requirements=install.OMNET_REQUIREMENTS: (
    plans["omnet"].pop(0) if len(plans["omnet"]) > 1 else plans["omnet"][0])

class PipChild:  # pip downloading: silent for minutes, then done with RETURNCODE
    def __init__(self, grace_seconds=3.0):
        self.lines, self.done, self.returncode, self.cancelled = [], False, None, False
        children.append(self)
    def start(self, argv, env=None, cwd=None):
        self.argv = list(argv)
    def read_lines(self):
        lines, self.lines = self.lines, []
        return lines
    def finished(self):
        return self.done
    def cancel(self):
        self.cancelled, self.done, self.returncode = True, True, -15

logic.SubprocessRunner = PipChild

class Run:
    def __init__(self, volumes, options, *rest):
        runs.append(options)
    def start(self):
        pass
    running = False

panel_module.SegmentationRun = Run

panel.parameterNode = run_parameters(skullStrip="off", matchResolution=True)
shown = []
panel.ui.logText = types.SimpleNamespace(clear=shown.clear, appendPlainText=shown.append)
panel.onApply()  # returns while pip runs: Slicer processes its events meanwhile
child = children[-1]
during = {"argv": child.argv[1:4] + child.argv[-1:], "blocking": len(blocking),
          "status": panel.ui.statusLabel.text, "button": panel.ui.applyButton.text,
          "install": panel.ui.installButton.enabled, "runs": len(runs)}
child.lines = ["Collecting tqdm>=4.60"]
panel.pipInstall.job._poll()  # the timer
during["log"] = shown[:]
"""


def test_a_pip_install_runs_in_a_child_and_the_run_starts_when_it_succeeded():
    """Slicer's ``pip_install`` waits on the GUI thread, processing events only between pip's
    output lines (util.py ``logProcessOutput``, v5.8.1): a download printing nothing for
    minutes froze Slicer. pip now runs as ``<Slicer's Python> -m pip install`` in a child
    followed from a timer; the click returns at once, the segmentation starts when pip
    ended well."""
    result = run_script(PIP_CHILD + """
child.done, child.returncode = True, 0
panel.pipInstall.job._poll()
print(json.dumps({"during": during, "runs": len(runs), "errors": errors,
                  "installing": panel.installing, "button": panel.ui.applyButton.text}))
""")
    assert result["during"] == {"argv": ["-m", "pip", "install", "tqdm>=4.60"], "blocking": 0,
                                "status": "Installing tqdm>=4.60 (this can take several "
                                          "minutes)...",
                                "button": "Cancel", "install": False, "runs": 0,
                                "log": ["Collecting tqdm>=4.60"]}
    assert result == {"during": result["during"], "runs": 1, "errors": [],
                      "installing": False, "button": "Segment tumor"}


def test_a_failed_or_cancelled_pip_child_starts_no_run():
    """pip failing (offline) shows the one network message and starts nothing; Cancel (the
    'Segment tumor' button while pip runs) stops the child and starts nothing either."""
    result = run_script(PIP_CHILD + """
child.done, child.returncode = True, 1
panel.pipInstall.job._poll()
failed = {"runs": len(runs), "errors": errors[:]}
plans["omnet"][:] = [InstallPlan(pip=("tqdm>=4.60",)), InstallPlan()]
panel.onApply()
panel.onApply()  # Cancel
stopped = children[-1].cancelled
panel.pipInstall.job._poll()
print(json.dumps({"failed": failed, "stopped": stopped, "runs": len(runs),
                  "errors": len(errors), "says": panel.ui.statusLabel.text}))
""")
    assert result["failed"]["runs"] == 0 and len(result["failed"]["errors"]) == 1
    assert "tqdm>=4.60" in result["failed"]["errors"][0]
    assert "internet connection" in result["failed"]["errors"][0]
    assert result["stopped"] and result["runs"] == 0 and result["errors"] == 1
    assert result["says"] == "The installation was stopped."
