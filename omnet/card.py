"""Model cards: what a weights file is, how it was made and how well it did (torch-free).

A card travels inside the safetensors header (metadata key ``omnet_card``) and, for people,
as a JSON file beside the weights. It can be read without torch, so the Slicer module and
``omnet models`` list models instantly.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from omnet.card_fields import check_card_fields
from omnet.errors import ModelFileError
from omnet.labels import BRATS2018, CLASS_NAMES, MODALITIES
from omnet.registry import ModelConfig

__all__ = ["CARD_FORMAT", "CARD_KEY", "ModelCard", "read_card", "read_safetensors_header",
           "sidecar_path"]

CARD_FORMAT = "omnet-model/1"
CARD_KEY = "omnet_card"
_MAX_HEADER = 100 * 1024 * 1024


@dataclass
class ModelCard:
    """Description of a trained (or randomly initialised) model.

    Attributes:
        name: short name shown in menus.
        model: the :class:`ModelConfig` that builds the network.
        modalities: input channel order.
        normalization: how inputs are normalised before the network.
        patch_size: training patch (z, y, x).
        voxel_spacing: the voxel size (mm, x y z) of the training data; inputs are
            resampled to it (BraTS: 1 mm isotropic; cards without it mean that).
        classes: class names of each task's outputs.
        output_labels: BraTS values written for NCR/NET, edema and enhancing tumour.
        training: data seen, split, settings and iterations (free-form).
        metrics: measured validation figures (free-form).
        description: one paragraph for people.
        tensors_sha256: checksum of the tensors, filled in when saved.
        storage_dtype: dtype of the floating-point tensors on disk.
    """

    name: str
    model: ModelConfig
    modalities: list[str] = field(default_factory=lambda: list(MODALITIES))
    normalization: dict[str, Any] = field(
        default_factory=lambda: {"method": "zscore", "region": "nonzero", "per": "sequence"})
    patch_size: list[int] = field(default_factory=lambda: [16, 32, 32])
    voxel_spacing: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    classes: dict[str, list[str]] = field(default_factory=lambda: {
        "task1": list(CLASS_NAMES), "task2": list(CLASS_NAMES),
        "task3": ["not enhancing", "enhancing tumour"]})
    output_labels: dict[str, int] = field(default_factory=lambda: {
        "necrotic": BRATS2018.necrotic, "edema": BRATS2018.edema,
        "enhancing": BRATS2018.enhancing})
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    omnet_version: str = ""
    tensors_sha256: str = ""
    storage_dtype: str = "float32"
    format: str = CARD_FORMAT

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = self.model.to_dict()
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        if not isinstance(data, dict) or data.get("format") != CARD_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ModelFileError(f"model card format {found!r} is not {CARD_FORMAT!r}")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ModelFileError(f"model card has unknown fields: {', '.join(sorted(unknown))}")
        check_card_fields(data, {f.name: f.default_factory() for f in fields(cls)
                                 if f.default_factory is not MISSING})
        try:
            config = ModelConfig.from_dict(dict(data["model"]))
            return cls(**{**data, "model": config})
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"model card is invalid: {exc}") from None


def sidecar_path(weights: str | os.PathLike) -> Path:
    """``model.safetensors`` -> ``model.json``."""
    return Path(weights).with_suffix(".json")


def read_safetensors_header(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a safetensors header without torch; clear errors for anything else."""
    path = Path(path)
    if path.is_dir():  # a training run's folder, most often: name the file it holds
        inside = path / "model.safetensors"
        raise ModelFileError(f"{path} is a folder, not a model file; give "
                             + (f"{inside}" if inside.is_file() else "an OMNet .safetensors file"))
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelFileError(f"{path.name} is not a model file (only {size} bytes)")
        (length,) = struct.unpack("<Q", head)
        if length == 0 or length > min(_MAX_HEADER, size - 8):
            if head[:4] == b"PK\x03\x04" or (head[0] == 0x80 and 2 <= head[1] <= 5):
                raise ModelFileError(
                    f"{path.name} is a PyTorch pickle checkpoint; OMNet only loads safetensors "
                    "model files, since loading a pickle can run arbitrary code")
            raise ModelFileError(f"{path.name} is not a safetensors file (bad header length)")
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{path.name} is not a safetensors file (unreadable header)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path.name} is not a safetensors file (header is not a map)")
    return header


def read_card(path: str | os.PathLike) -> ModelCard:
    """The card embedded in an OMNet safetensors file (torch-free, header only)."""
    header = read_safetensors_header(path)
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or CARD_KEY not in metadata:
        raise ModelFileError(f"{Path(path).name} is a safetensors file but not an OMNet model "
                             "(no model card inside)")
    try:
        data = json.loads(metadata[CARD_KEY])
    except (json.JSONDecodeError, TypeError):
        raise ModelFileError(f"{Path(path).name}: the model card is not valid JSON") from None
    return ModelCard.from_dict(data)
