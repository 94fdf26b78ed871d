"""Both module panels undo their widget binding when the parameter node goes (module left,
scene closed) on every supported Slicer, with Slicer, Qt and VTK stood in.

Slicer 5.8.1's ``connectGui`` returns None (see ``standins.ParameterNodeGui``), so a panel
that keeps its result as the tag never disconnects there: each time the module is shown
again another set of connectors is added, and the old ones write the first choice of every
combo box into the parameter node while the new ones refill the boxes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

SCRIPT = """
import importlib.util, json, sys, types
sys.path[:0] = [{testing!r}, {training!r}, {segmentation!r}]
from standins import ParameterNodeGui, StandInFinder
sys.meta_path.insert(0, StandInFinder((), ("slicer", "qt", "ctk", "vtk")))

class Widget:
    def __init__(self, parameter=None):
        self.parameter = parameter
    def property(self, name):
        return self.parameter if name == "SlicerParameterName" else None
    def __getattr__(self, name):
        return lambda *args, **kwargs: None

spec = importlib.util.spec_from_file_location({module!r}, {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules[{module!r}] = module
spec.loader.exec_module(module)
widget = getattr(module, {module!r} + "Widget")()
ui = types.SimpleNamespace(deviceComboBox=Widget("device"), logText=Widget(),
                           attentionSelector=Widget("attentionVolume"))
widget.ui = ui
widget.panel = types.SimpleNamespace(parameterNode=None, exportedModel="",
                                     updateButtons=lambda *a: None, showFolders=lambda: None)
first, second = ParameterNodeGui({version}), ParameterNodeGui({version})
widget.setParameterNode(first)    # setup
widget.setParameterNode(second)   # enter: a new wrapper of the same node
bound = [sorted(m) for m in second.live.values()]
widget.setParameterNode(None)     # exit, or the scene closes
print(json.dumps({{"first": len(first.live), "second": len(second.live), "bound": bound}}))
"""


@pytest.mark.parametrize("version", [(5, 8), (5, 10)], ids=["5.8.1", "5.10+"])
@pytest.mark.parametrize("module", ["OMNetSegmentation", "OMNetTraining"])
def test_panel_disconnects_its_widgets_from_the_parameter_node(module, version):
    script = SCRIPT.format(testing=str(REPO / "Testing" / "Python"),
                           training=str(REPO / "OMNetTraining"),
                           segmentation=str(REPO / "OMNetSegmentation"), module=module,
                           path=str(REPO / module / f"{module}.py"), version=version)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bound"] == [["attentionVolume", "device"]]
    assert (result["first"], result["second"]) == (0, 0), "widgets still bound"
