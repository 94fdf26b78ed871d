"""Train/validation split by case: a seeded random hold-out, k folds, or a named list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from omnet.errors import InputError
from omnet.training.config import DataSettings

__all__ = ["Split", "make_split", "missing_validation_text"]


@dataclass(frozen=True)
class Split:
    """Case ids that train and that validate, and how they were chosen."""

    train: list[str]
    validation: list[str]
    method: str
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Split:
        return cls(train=list(data["train"]), validation=list(data["validation"]),
                   method=str(data["method"]), seed=int(data["seed"]))


def missing_validation_text(missing: Sequence[str]) -> str:
    """The one-line error for named validation cases the dataset lacks, with the way out (a
    preset such as ``bundled`` names the project's own seven)."""
    return (f"validation cases not in the dataset: {', '.join(missing)}; name yours with "
            f"--val-cases CASE ..., or give --val-cases alone for a random split")


def make_split(case_ids: Sequence[str], settings: DataSettings, seed: int) -> Split:
    """Split ``case_ids`` (the order they are given does not matter).

    - ``val_cases``: exactly those validate (each must exist);
    - ``folds`` = n >= 2: the ids, shuffled with ``seed``, are dealt into n folds and fold
      ``fold`` (0-based) validates;
    - else ``round(val_fraction * n)`` random cases validate (at least one when the fraction
      is positive and there are two cases or more).
    """
    ids = sorted(case_ids)
    if not ids:
        raise InputError("no usable training case")
    if settings.val_cases:
        missing = sorted(set(settings.val_cases) - set(ids))
        if missing:
            raise InputError(missing_validation_text(missing))
        chosen = set(settings.val_cases)
        method = "named"
    else:
        order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
        if settings.folds >= 2:
            if settings.folds > len(ids):
                raise InputError(f"{settings.folds} folds need at least {settings.folds} cases; "
                                 f"found {len(ids)}")
            folds = np.array_split(np.asarray(order), settings.folds)
            chosen = {str(c) for c in folds[settings.fold]}
            method = f"fold {settings.fold} of {settings.folds}"
        else:
            count = round(settings.val_fraction * len(ids))
            if settings.val_fraction > 0 and len(ids) >= 2:
                count = max(1, count)
            chosen = set(order[:count])
            method = f"random {settings.val_fraction:g}"
    train = [c for c in ids if c not in chosen]
    if not train:
        raise InputError("the split leaves no training case")
    return Split(train=train, validation=[c for c in ids if c in chosen], method=method,
                 seed=seed)
