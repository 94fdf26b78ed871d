"""The Python API a script or notebook uses: ``import omnet``, help, load once, segment many."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import SimpleITK as sitk

import omnet
from omnet.bundled import is_bundled
from omnet.demo.generator import DemoSettings, make_demo_case
from omnet.errors import InputError
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


def test_numpy_arrays_take_the_spacing_given(tiny_model, phantom_case):
    demo = make_demo_case(DemoSettings(size=(60, 60, 40)))   # 4 x 4 x 3.875 mm voxels
    spacing = (4.0, 4.0, 3.875)
    arrays = dict(demo.images)

    def image(array):
        made = sitk.GetImageFromArray(array)
        made.SetSpacing(spacing)
        return made

    result = omnet.segment(arrays, None, model=tiny_model, device="cpu", spacing=spacing)
    expected = omnet.segment({role: image(a) for role, a in arrays.items()}, None,
                             model=tiny_model, device="cpu")
    assert result.labels.GetSpacing() == spacing
    assert np.array_equal(sitk.GetArrayFromImage(result.labels),
                          sitk.GetArrayFromImage(expected.labels))
    assert result.volumes_ml == expected.volumes_ml
    with pytest.raises(InputError, match="numpy array inputs only"):
        omnet.segment(phantom_case(), None, model=tiny_model, device="cpu", spacing=spacing)
    with pytest.raises(InputError, match="three positive"):
        omnet.segment(arrays, None, model=tiny_model, device="cpu", spacing=(1.0, 0.0, 1.0))


@pytest.mark.parametrize("spacing", [1.0, "1 1 1", (1.0, "a", 1.0)])
def test_a_spacing_that_is_not_three_numbers_is_a_one_line_error(spacing):
    """A single number or text is refused like a wrong count, not with a TypeError."""
    from omnet.inference.sources import arrays_with_spacing

    arrays = {"t1": np.zeros((2, 3, 4), dtype=np.float32)}
    with pytest.raises(InputError, match=r"^spacing must be three positive mm values"):
        arrays_with_spacing(arrays, spacing)
