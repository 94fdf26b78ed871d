"""Model files: bit-exact round trip; tampered, foreign and pickle files refused."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from omnet.card import ModelCard, read_card, sidecar_path
from omnet.errors import ModelFileError
from omnet.model import build_model
from omnet.model.weights import load_model, save_model


@pytest.fixture()
def saved(tmp_path: Path):
    torch.manual_seed(3)
    model = build_model("omnet-cga", width=4)
    model(torch.randn(2, 4, 8, 8, 8))  # move BatchNorm statistics away from their defaults
    path = tmp_path / "model.safetensors"
    card = save_model(model.eval(), ModelCard(name="test", model=model.config,
                                              metrics={"dice_whole": 0.5}), path)
    return model, card, path


def test_round_trip_is_bit_exact(saved) -> None:
    model, card, path = saved
    loaded = load_model(path)
    original, restored = model.state_dict(), loaded.model.state_dict()
    assert original.keys() == restored.keys()
    assert all(torch.equal(original[k], restored[k]) for k in original)
    assert loaded.card == card and loaded.card.metrics == {"dice_whole": 0.5}
    assert len(loaded.file_sha256) == 64
    assert not loaded.model.training


def test_half_precision_storage_keeps_batchnorm_statistics(tmp_path: Path) -> None:
    model = build_model("omnet", width=4).eval()
    path = tmp_path / "half.safetensors"
    save_model(model, ModelCard(name="half", model=model.config), path, storage_dtype="float16")
    loaded = load_model(path).model.state_dict()
    for name, value in model.state_dict().items():
        if name.endswith(("running_mean", "running_var")) or not value.is_floating_point():
            assert torch.equal(loaded[name], value)
        else:
            assert torch.equal(loaded[name], value.half().float())


def test_card_is_readable_without_loading_tensors(saved) -> None:
    _, card, path = saved
    assert read_card(path) == card
    assert json.loads(sidecar_path(path).read_text())["name"] == "test"


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_tampered_tensors_are_refused(saved) -> None:
    _, _, path = saved
    _flip_last_byte(path)
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(path)


def test_edited_sidecar_card_is_refused(saved) -> None:
    _, _, path = saved
    side = sidecar_path(path)
    data = json.loads(side.read_text())
    data["metrics"] = {"dice_whole": 0.99}
    side.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match="does not match"):
        load_model(path)


def test_card_that_does_not_fit_the_tensors_is_refused(saved, tmp_path: Path) -> None:
    model, card, _ = saved
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    wrong = ModelCard.from_dict({**card.to_dict(),
                                 "model": {**card.model.to_dict(), "width": 8}})
    path = tmp_path / "wrong.safetensors"
    save_file(tensors, str(path), metadata={"omnet_card": wrong.to_json()})
    with pytest.raises(ModelFileError, match="do not fit"):
        load_model(path)


def test_safetensors_without_card_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(3)}, str(path))
    with pytest.raises(ModelFileError, match="not an OMNet model"):
        load_model(path)


@pytest.mark.parametrize("zip_format", [True, False])
def test_pickle_checkpoint_is_refused_without_unpickling(tmp_path: Path, zip_format: bool) -> None:
    path = tmp_path / "model.pt"
    torch.save({"state_dict": {}}, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(ModelFileError, match="pickle"):
        load_model(path)


@pytest.mark.parametrize("content", [b"", b"abc", struct.pack("<Q", 10**9) + b"{}",
                                     struct.pack("<Q", 4) + b"\xff\xfe{]"])
def test_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelFileError):
        load_model(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope.safetensors")


def test_a_run_folder_given_as_the_model_names_its_model_file(saved, tmp_path: Path) -> None:
    _, _, path = saved  # tmp_path/model.safetensors: tmp_path is a run folder
    with pytest.raises(ModelFileError, match=f"^{tmp_path} is a folder, not a model file; "
                                             f"give {path}$"):
        load_model(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelFileError, match="is a folder, not a model file; give an OMNet "
                                             r"\.safetensors file$"):
        load_model(empty)


def test_unknown_card_format_is_refused(saved, tmp_path: Path) -> None:
    model, card, _ = saved
    path = tmp_path / "future.safetensors"
    data = {**card.to_dict(), "format": "omnet-model/99"}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={"omnet_card": json.dumps(data)})
    with pytest.raises(ModelFileError, match="format"):
        load_model(path)


def _resaved(saved, tmp_path: Path, change) -> Path:
    """The saved network's tensors passed through ``change``, written with a card whose
    checksum matches them (as a careless or diverged training run would write it)."""
    from omnet.model.weights import tensors_sha256

    model, card, _ = saved
    tensors = {k: change(k, v.contiguous().clone()) for k, v in model.state_dict().items()}
    data = {**card.to_dict(), "tensors_sha256": tensors_sha256(tensors)}
    path = tmp_path / "resaved.safetensors"
    save_file(tensors, str(path), metadata={"omnet_card": json.dumps(data)})
    return path


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_weights_that_are_not_finite_are_refused(saved, tmp_path: Path, bad: float) -> None:
    """A diverged run's NaN weights used to load and write an empty segmentation, exit 0."""
    first = "backbone.encoders.0.0.0.weight"

    def poison(name: str, t: torch.Tensor) -> torch.Tensor:
        if name == first:
            t.view(-1)[0] = bad
        return t

    with pytest.raises(ModelFileError, match=f"NaN or infinite values \\({first}\\)"):
        load_model(_resaved(saved, tmp_path, poison))


def test_integer_weights_are_refused(saved, tmp_path: Path) -> None:
    def to_int(name: str, t: torch.Tensor) -> torch.Tensor:
        return t.to(torch.int32) if t.is_floating_point() else t

    with pytest.raises(ModelFileError, match="wrong dtype"):
        load_model(_resaved(saved, tmp_path, to_int))


def test_a_broken_card_beside_the_file_is_named(saved) -> None:
    _, _, path = saved
    sidecar_path(path).write_text("[1]")
    with pytest.raises(ModelFileError, match=r"^model\.json \(the card beside model\."):
        load_model(path)
