"""The Python API a script or notebook uses: ``import omnet``, help, load once, segment many."""

from __future__ import annotations

import inspect

import numpy as np
import SimpleITK as sitk

import omnet
from omnet.bundled import is_bundled
from omnet.model import weights


def test_public_names_resolve_and_segment_shows_its_arguments():
    assert all(hasattr(omnet, name) for name in omnet.__all__)
    assert set(omnet.__all__) <= set(dir(omnet))
    parameters = inspect.signature(omnet.segment).parameters
    assert {"inputs", "output", "model", "progress", "cancel"} <= set(parameters)
    assert "Returns:" in omnet.segment.__doc__ and "Raises:" in omnet.segment.__doc__
    assert "labels:" in omnet.SegmentationResult.__doc__


def test_a_model_loaded_once_serves_every_case(phantom_case, tiny_model_file, monkeypatch):
    folder = phantom_case(shape=(24, 40, 36))
    by_path = omnet.segment(folder, None, model=tiny_model_file, device="cpu")
    loaded = omnet.load_model(tiny_model_file, device="cpu")

    def no_reload(*args, **kwargs):
        raise AssertionError("the model file was read again")

    monkeypatch.setattr(weights, "load_model", no_reload)
    runs = [omnet.segment(folder, None, model=loaded, device="cpu") for _ in range(2)]
    expected = sitk.GetArrayFromImage(by_path.labels)
    for run in runs:
        assert np.array_equal(sitk.GetArrayFromImage(run.labels), expected)
        assert run.report["model"]["sha256"] == by_path.report["model"]["sha256"]


def test_load_model_without_a_path_is_the_bundled_model():
    loaded = omnet.load_model(device="cpu")
    assert is_bundled(loaded.path)
    assert next(loaded.model.parameters()).device.type == "cpu"
