"""Save and load trained networks as safetensors + model card; never pickle.

``torch.load`` of a stranger's file can run code, so OMNet model files are safetensors
with the card in the header. Loading checks that the card, the checksum and the tensors
agree, and refuses anything else with a one-line reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from omnet import __version__
from omnet.card import CARD_KEY, ModelCard, read_card, sidecar_path
from omnet.errors import ModelFileError
from omnet.model import build_model
from omnet.utils.atomic import atomic_path, atomic_write_text, file_sha256

__all__ = ["LoadedModel", "load_model", "save_model", "tensors_sha256"]

log = logging.getLogger(__name__)
_STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16,
                   "bfloat16": torch.bfloat16}
#: Buffers kept in float32 whatever the storage dtype (BatchNorm statistics).
_KEEP_FLOAT32 = ("running_mean", "running_var")


@dataclass
class LoadedModel:
    """A network ready for inference, its card, and the sha256 of the file it came from."""

    model: nn.Module
    card: ModelCard
    path: Path
    file_sha256: str


def tensors_sha256(tensors: dict[str, torch.Tensor]) -> str:
    """Checksum over names, dtypes, shapes and bytes of all tensors, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _storage_tensors(model: nn.Module, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    out = {}
    for name, t in model.state_dict().items():
        t = t.detach().cpu()
        if t.is_floating_point() and not name.endswith(_KEEP_FLOAT32):
            t = t.to(dtype)
        out[name] = t.contiguous().clone()
    return out


def save_model(model: nn.Module, card: ModelCard, path: str | os.PathLike,
               storage_dtype: str = "float32") -> ModelCard:
    """Write ``path`` (.safetensors) and its JSON card beside it, atomically.

    Returns the card as written (with checksum, dtype and version filled in).
    """
    if storage_dtype not in _STORAGE_DTYPES:
        raise ValueError(f"storage dtype must be one of {', '.join(_STORAGE_DTYPES)}")
    if card.model != model.config:
        raise ValueError("the card's model config does not describe this network")
    tensors = _storage_tensors(model, _STORAGE_DTYPES[storage_dtype])
    card = replace(card, tensors_sha256=tensors_sha256(tensors), storage_dtype=storage_dtype,
                   omnet_version=card.omnet_version or __version__)
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={CARD_KEY: card.to_json()})
    atomic_write_text(sidecar_path(path), card.to_json() + "\n")
    log.info("saved %s (%s, %.1f MB)", path, storage_dtype, path.stat().st_size / 1e6)
    return card


def _wrong_kind(tensors: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> list[str]:
    """Names whose tensor is integer where the network has floats, or the other way round
    (or another integer type): loading would cast them silently."""
    def differs(a: torch.Tensor, b: torch.Tensor) -> bool:
        return a.is_floating_point() != b.is_floating_point() or (
            not b.is_floating_point() and a.dtype != b.dtype)

    return sorted(k for k in set(expected) & set(tensors) if differs(tensors[k], expected[k]))


def _not_finite(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of floating-point tensors holding NaN or infinity (a diverged training run):
    such a network writes an empty or random segmentation without any error."""
    return sorted(k for k, t in tensors.items()
                  if t.is_floating_point() and not bool(torch.isfinite(t).all()))


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    """Load an OMNet model file; raise :class:`ModelFileError` with the reason if refused."""
    path = Path(path)
    card = read_card(path)  # header only: refuses pickles, foreign and card-less files
    name = path.name
    side = sidecar_path(path)
    if side.is_file():
        try:
            side_card = ModelCard.from_dict(json.loads(side.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ModelFileError(f"{side.name}: the model card beside {name} is not JSON") from None
        except ModelFileError as exc:
            raise ModelFileError(f"{side.name} (the card beside {name}): {exc}") from None
        if side_card != card:
            raise ModelFileError(f"{side.name} does not match the card inside {name}; "
                                 "one of the two files was changed")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{name}: cannot read tensors ({exc})") from None
    if tensors_sha256(tensors) != card.tensors_sha256:
        raise ModelFileError(f"{name}: tensors do not match the checksum in the model card "
                             "(the file was modified or damaged)")
    model = build_model(card.model)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(k for k in set(expected) & set(tensors)
                   if tuple(expected[k].shape) != tuple(tensors[k].shape))
    kind, not_finite = _wrong_kind(tensors, expected), _not_finite(tensors)
    if missing or unexpected or wrong or kind:
        detail = "; ".join(f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                           for label, keys in (("missing", missing), ("unexpected", unexpected),
                                               ("wrong shape", wrong), ("wrong dtype", kind))
                           if keys)
        raise ModelFileError(f"{name}: tensors do not fit a {card.model.variant} network of "
                             f"width {card.model.width} ({detail})")
    if not_finite:
        more = " ..." if len(not_finite) > 3 else ""
        raise ModelFileError(f"{name}: weights hold NaN or infinite values "
                             f"({', '.join(not_finite[:3])}{more}); the training that made it "
                             "diverged or the file is damaged")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    model.eval().to(device)
    return LoadedModel(model=model, card=card, path=path, file_sha256=file_sha256(path))
