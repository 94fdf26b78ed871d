"""Model cards of the wrong shape: refused with the field's name, never a traceback."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from omnet.card import ModelCard, read_card
from omnet.errors import ModelFileError
from omnet.model import build_model
from omnet.model.weights import load_model, save_model


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """A width-2 network, its tensors and its card as written by save_model."""
    torch.manual_seed(0)
    model = build_model("omnet-cga", width=2).eval()
    path = tmp_path_factory.mktemp("card") / "good.safetensors"
    card = save_model(model, ModelCard(name="good", model=model.config), path)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    return tensors, card.to_dict()


def _write(path: Path, tensors, card: object) -> Path:
    save_file(tensors, str(path), metadata={"omnet_card": json.dumps(card)})
    return path


def _edit(card: dict, key: str, value: object) -> dict:
    """``card`` with ``key`` (``model.x`` for a network setting) set, or removed if ...."""
    out = json.loads(json.dumps(card))
    target, name = (out["model"], key[6:]) if key.startswith("model.") else (out, key)
    if value is ...:
        del target[name]
    else:
        target[name] = value
    return out


@pytest.mark.parametrize("key, value, words", [
    ("name", ..., "lacks name"),
    ("model", ..., "lacks model"),
    ("name", 5, "name must be"),
    ("model", "omnet-cga", "model must be a map"),
    ("voxel_spacing", "1mm", "voxel_spacing must be three positive mm values"),
    ("voxel_spacing", [1.0, 1.0], "voxel_spacing must be"),
    ("voxel_spacing", [1.0, float("nan"), 1.0], "voxel_spacing must be"),
    ("patch_size", "x", "patch_size must be"),
    ("training", [], "training must be a map"),
    ("metrics", None, "metrics must be a map"),
    ("storage_dtype", "int8", "storage_dtype must be one of"),
    ("model.width", 4.0, "model.width must be a whole number"),
    ("model.width", "2", "model.width must be a whole number"),
    ("model.width", True, "model.width must be a whole number"),
    ("model.dropout", "0.5", "model.dropout must be a number"),
    ("model.member_inputs", "any", "model.member_inputs must be a list"),
])
def test_a_field_of_the_wrong_type_is_named(network, tmp_path, key, value, words):
    tensors, card = network
    path = _write(tmp_path / "bad.safetensors", tensors, _edit(card, key, value))
    with pytest.raises(ModelFileError, match=words):
        load_model(path)


@pytest.mark.parametrize("key, value, words", [
    ("modalities", ["t2", "t1", "flair", "t1ce"], "input sequences"),
    ("modalities", ["t1"], "input sequences"),
    ("normalization", {"method": "minmax"}, "normalisation"),
    ("output_labels", {"necrotic": 1, "edema": 2, "enhancing": 3}, "output labels"),
])
def test_a_convention_inference_does_not_implement_is_refused(network, tmp_path, key, value,
                                                              words):
    """Inference feeds FLAIR, T1, T1c, T2, z-scored, and writes labels 1, 2, 4 whatever
    the card says: a card asking for anything else would be run wrongly without a word."""
    tensors, card = network
    path = _write(tmp_path / "other.safetensors", tensors, _edit(card, key, value))
    with pytest.raises(ModelFileError, match=f"expects {words}"):
        read_card(path)


def test_a_card_that_is_not_text_in_the_header_is_refused(tmp_path):
    header = json.dumps({"__metadata__": {"omnet_card": 5}}).encode()
    path = tmp_path / "odd.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        read_card(path)


def test_the_written_card_still_loads(network, tmp_path):
    tensors, card = network
    assert load_model(_write(tmp_path / "same.safetensors", tensors, card)).card.name == "good"
