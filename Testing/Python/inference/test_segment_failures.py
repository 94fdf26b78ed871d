"""Bad input, cancellation and running out of GPU memory: clear errors, never a partial file."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from omnet import segment
from omnet.errors import Cancelled, GeometryError, InputError
from omnet.inference.network import run_with_fallback


def _no_files_left(folder) -> bool:
    return not [p for p in folder.rglob("*") if p.is_file()]


def _break(folder, role: str, how: str) -> None:
    path = next(folder.glob(f"*_{role}.nii.gz"))
    image = sitk.ReadImage(str(path))
    if how == "missing":
        path.unlink()
    elif how == "corrupt":
        path.write_bytes(b"garbage" * 100)
    elif how == "two_d":
        sitk.WriteImage(image[:, :, 3], str(path))
    elif how == "four_d_wrong":
        sitk.WriteImage(sitk.JoinSeries([image, image]), str(path))
    elif how == "empty":
        sitk.WriteImage(image * 0, str(path))
    elif how == "constant":  # a failed export: one value everywhere
        sitk.WriteImage(image * 0 + 7, str(path))
    elif how == "far_away":
        image.SetOrigin((1000.0, 0.0, 0.0))
        sitk.WriteImage(image, str(path))
    elif how == "ambiguous":
        (folder / path.name.replace(f"_{role}", f"_{role}_copy")).write_bytes(path.read_bytes())


@pytest.mark.parametrize("role, how, error, words", [
    ("t2", "missing", InputError, "no T2 found among"),
    ("t1", "corrupt", InputError, "cannot read"),
    ("flair", "two_d", InputError, "2D image"),
    ("t1", "four_d_wrong", InputError, "4D image"),
    ("t2", "empty", InputError, "empty"),
    ("flair", "constant", InputError, "flair.nii.gz: the volume is constant .every voxel is 7."),
    ("flair", "far_away", GeometryError, "does not overlap"),
    ("t1", "ambiguous", InputError, "several files look like T1"),
])
def test_bad_input_is_a_one_line_error_and_writes_nothing(phantom_case, tiny_model, tmp_path,
                                                          role, how, error, words):
    folder = phantom_case(shape=(16, 24, 24))
    _break(folder, role, how)
    out = tmp_path / "out"
    with pytest.raises(error, match=words) as exc:
        segment(folder, out / "labels.nii.gz", model=tiny_model, report=out / "r.json",
                device="cpu")
    assert "\n" not in str(exc.value)
    assert not out.exists() or _no_files_left(out)


def test_nan_in_an_in_memory_image(tiny_model):
    array = np.ones((8, 16, 16), dtype=np.float32)
    array[4, 4, 4] = np.nan
    good = sitk.GetImageFromArray(np.arange(8 * 16 * 16, dtype=np.float32).reshape(8, 16, 16))
    with pytest.raises(InputError, match="T1: contains NaN"):
        segment({"flair": good, "t1": sitk.GetImageFromArray(array), "t1ce": good, "t2": good},
                model=tiny_model, device="cpu")


@pytest.mark.parametrize("stop_at", ["network", "writing"])
def test_cancel_from_a_progress_callback_leaves_no_file(phantom_case, tiny_model, tmp_path,
                                                        stop_at):
    cancel = threading.Event()
    stages = []

    def progress(fraction: float, stage: str) -> None:
        stages.append(stage)
        if stage == stop_at:
            cancel.set()

    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        segment(phantom_case(shape=(16, 24, 24)), out / "labels.nii.gz", model=tiny_model,
                report=out / "r.json", probabilities_dir=out / "p", attention_dir=out / "a",
                progress=progress, cancel=cancel, device="cpu", mode="exact")
    assert stop_at in stages and stages[-1] == stop_at
    assert not out.exists() or _no_files_left(out)


def test_cancel_inside_a_forward_pass_stops_before_the_next_layer(phantom_case, tmp_path):
    from omnet.inference.network import cancel_checks
    from omnet.model import build_model

    model = build_model("omnet-cga", width=2).eval()
    cancel = threading.Event()
    calls = []

    def count(module, args):
        calls.append(module)
        if len(calls) == 3:
            cancel.set()

    for m in model.modules():
        if not list(m.children()):
            m.register_forward_pre_hook(count)
    with cancel_checks(model, cancel), pytest.raises(Cancelled):
        model(torch.zeros(1, 4, 16, 32, 32))
    assert len(calls) == 3  # the layer that saw the request did not run, nor any after it


class _FakeOOM(torch.cuda.OutOfMemoryError):
    pass


def test_gpu_out_of_memory_shrinks_tiles_then_uses_the_cpu():
    attempts, events = [], []

    def attempt(budget, device):
        attempts.append((budget, device.type))
        if device.type == "cuda":
            raise _FakeOOM("CUDA out of memory. Tried to allocate 2.00 GiB")
        return "done"

    result = run_with_fallback(attempt, 8000, torch.device("cuda"), 2000, events.append)
    assert result == "done"
    assert attempts == [(8000, "cuda"), (4000, "cuda"), (2000, "cuda"), (2000, "cpu")]
    assert len(events) == 3 and "using the CPU" in events[-1]


def test_smaller_tiles_are_enough_when_they_fit():
    def attempt(budget, device):
        if budget > 3000:
            raise RuntimeError("CUDA out of memory")
        return budget

    assert run_with_fallback(attempt, 8000, torch.device("cuda"), 1000) == 2000


def test_other_errors_are_not_retried():
    def attempt(budget, device):
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        run_with_fallback(attempt, 8000, torch.device("cuda"), 1000)


@pytest.mark.parametrize("option, name", [("output", "case1_t1ce.nii.gz"),
                                          ("brain_mask", "case1_flair.nii.gz"),
                                          ("output", "case1_seg.nii.gz"),
                                          ("output", "CASE1_T1CE.nii.gz")])
def test_an_output_named_as_one_of_the_cases_files_is_refused_and_it_is_kept(
        phantom_case, tiny_model, tmp_path, option, name):
    """``omnet segment X.nii.gz -o X.nii.gz`` replaced the scans with the labels, and
    ``-o CASE/X_seg.nii.gz`` the expert's labels, without a word."""
    folder = phantom_case(shape=(16, 24, 24))
    (folder / "case1_seg.nii.gz").write_bytes((folder / "case1_t2.nii.gz").read_bytes())
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    destinations = {"output": tmp_path / "labels.nii.gz", option: folder / name}
    with pytest.raises(InputError, match=f"/{name} is one of the case's own files: give "
                                         "another name$"):
        segment(folder, model=tiny_model, device="cpu", **destinations)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert not (tmp_path / "labels.nii.gz").exists()


def test_a_4d_file_given_as_its_own_output_is_refused(phantom_case, tiny_model, tmp_path):
    folder = phantom_case(shape=(16, 24, 24))
    four_d = tmp_path / "case.nii.gz"
    sitk.WriteImage(sitk.JoinSeries([sitk.ReadImage(str(p), sitk.sitkFloat32) for p in
                                     sorted(folder.glob("*.nii.gz"))]), str(four_d))
    before = four_d.read_bytes()
    with pytest.raises(InputError, match="is one of the case's own files"):
        segment(four_d, four_d, model=tiny_model, device="cpu")
    assert four_d.read_bytes() == before


@pytest.mark.parametrize("option", ["probabilities_dir", "attention_dir"])
def test_maps_written_into_the_case_folder_are_refused_and_it_is_kept(
        phantom_case, tiny_model, tmp_path, option):
    """``--probabilities CASE`` put a dozen maps among the scans (a name away from
    overwriting one); refused as the other outputs that collide with the inputs are."""
    folder = phantom_case(shape=(16, 24, 24))
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(InputError, match=f"^the {option.split('_')[0]} folder .*/case1 holds "
                                         "the case's own files: give the maps a folder of "
                                         "their own$"):
        segment(folder, tmp_path / "labels.nii.gz", model=tiny_model, device="cpu",
                **{option: folder})
    assert sorted(p.name for p in folder.iterdir()) == before
    assert not (tmp_path / "labels.nii.gz").exists()
