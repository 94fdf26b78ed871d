"""The models shipped inside the package and the choice of a default (torch-free)."""

from __future__ import annotations

import os
from pathlib import Path

from omnet.card import ModelCard, read_card
from omnet.errors import ModelFileError

__all__ = ["BUNDLED_DIR", "default_model_path", "is_bundled", "list_bundled_models"]

BUNDLED_DIR = Path(__file__).resolve().parent / "models"
#: Environment variable naming another folder of bundled models (the Slicer extension).
MODELS_DIR_ENV = "OMNET_MODELS_DIR"


def _models_dir() -> Path:
    return Path(os.environ.get(MODELS_DIR_ENV) or BUNDLED_DIR)


def is_bundled(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` is a file of the bundled models' folder (None: no file, so no)."""
    return path is not None and Path(path).resolve().parent == _models_dir().resolve()


def list_bundled_models() -> list[tuple[Path, ModelCard]]:
    """Every readable model file in the bundled folder with its card, by name."""
    found = []
    for path in sorted(_models_dir().glob("*.safetensors")):
        try:
            found.append((path, read_card(path)))
        except ModelFileError:
            continue
    return found


def default_model_path(device_kind: str = "cpu") -> Path:
    """The bundled model to use without ``--model``.

    On a GPU the most accurate bundled model; on a CPU the one its card marks as the CPU
    default (a narrower network), falling back to any bundled model.
    """
    models = list_bundled_models()
    if not models:
        raise ModelFileError(
            f"no bundled model found in {_models_dir()}; pass --model FILE.safetensors "
            "(train one with `omnet train`)")
    key = "default_gpu" if device_kind in ("cuda", "mps") else "default_cpu"
    for path, card in models:
        if card.training.get(key):
            return path
    return models[0][0]
