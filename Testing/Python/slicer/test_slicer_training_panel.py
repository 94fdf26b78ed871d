"""The training panel's end of run, with Slicer, Qt and VTK stood in (they exist only inside
Slicer): a run often ends while another module is shown, when the panel has no parameter
node, and its model must still reach the panel when it is shown again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

SCRIPT = """
import json, sys, types
sys.path[:0] = [{testing!r}, {training!r}, {segmentation!r}]
from standins import StandInFinder
sys.meta_path.insert(0, StandInFinder((), ("slicer", "qt", "ctk", "vtk")))
from OMNetSegmentationLib.job import JobOutcome, SUCCEEDED
from OMNetTrainingLib.panel import TrainingPanel

panel = TrainingPanel(ui=types.SimpleNamespace(
    progressBar=types.SimpleNamespace(), modelPathLabel=types.SimpleNamespace(),
    statusLabel=types.SimpleNamespace(), scanButton=types.SimpleNamespace(),
    startButton=types.SimpleNamespace(), resumeButton=types.SimpleNamespace(),
    stopButton=types.SimpleNamespace(), useModelButton=types.SimpleNamespace(),
    settingsCollapsibleButton=types.SimpleNamespace()))
panel.job = types.SimpleNamespace(running=False, monitor=types.SimpleNamespace(elapsed=75.0))
panel.onTrainFinished(JobOutcome(SUCCEEDED, 0, result={{"model": "/runs/a/model.safetensors"}}))
print(json.dumps({{"kept": panel.exportedModel, "shown": panel.ui.modelPathLabel.text}}))
"""


def test_a_run_finishing_while_the_panel_is_hidden_keeps_its_model():
    script = SCRIPT.format(testing=str(REPO / "Testing" / "Python"),
                           training=str(REPO / "OMNetTraining"),
                           segmentation=str(REPO / "OMNetSegmentation"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "kept": "/runs/a/model.safetensors", "shown": "/runs/a/model.safetensors"}
