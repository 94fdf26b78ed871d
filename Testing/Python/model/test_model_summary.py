"""``omnet models --info FILE``: what a user needs to choose a model, for any model file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from omnet.card import ModelCard
from omnet.cli import main
from omnet.model import build_model
from omnet.model.weights import save_model
from omnet.model_summary import summarize_card, summary_lines
from omnet.registry import ModelConfig

HELD_OUT = {"postprocessed": {
    "cases": {"a": {}, "b": {}, "c": {}, "d": {}},
    "mean": {"enhancing": {"dice": 0.7335}, "whole": {"dice": 0.9122}, "core": {"dice": 0.8981}}}}


def _card(**changes) -> ModelCard:
    base = {"name": "mine", "model": ModelConfig(width=4),
            "training": {"preset": "quick", "iterations": 3,
                         "data": {"train_cases": ["a", "b"], "validation_cases": ["c"]}},
            "voxel_spacing": [1.0, 1.0, 2.5]}
    return ModelCard(**{**base, **changes})


def test_held_out_figures_training_and_inputs_are_summarised():
    summary = summarize_card(_card(metrics={"heldout": HELD_OUT}), "m.safetensors", "ab" * 32)
    lines = summary_lines(summary)
    assert "figures:        Dice whole 0.912, core 0.898, enhancing 0.734 (held-out, 4 cases)" \
        in lines
    assert "trained:        preset quick, 3 iterations, 2 training cases, 1 validation case" \
        in lines
    assert "inputs:         FLAIR, T1, T1c, T2; zscore per sequence over the brain" in lines
    assert "voxel spacing:  1 x 1 x 2.5 mm (inputs are resampled to it)" in lines
    assert "output labels:  1 necrotic, 2 edema, 4 enhancing" in lines
    assert "intended use:   research only, not for clinical use" in lines
    assert f"sha256:         {'ab' * 32}" in lines


def test_a_training_runs_own_validation_is_said_to_be_that():
    card = _card(metrics={"validation_dice": {"whole": 0.5, "core": 0.25, "enhancing": 0.125},
                          "validation_cases": 1, "validation_iteration": 3})
    assert summarize_card(card, "m", "").figures == (
        "Dice whole 0.500, core 0.250, enhancing 0.125 (training validation, 1 case, "
        "iteration 3)")
    assert summarize_card(_card(), "m", "").figures == "none recorded"


def test_each_network_of_an_ensemble_gets_its_recipe():
    member = {"preset": "bundled", "iterations": 900,
              "data": {"train_cases": ["a"] * 5, "validation_cases": []},
              "initialised_from": {"name": "older"}}
    card = _card(model=ModelConfig(width=4, members=2),
                 training={"ensemble_of": [{"name": "x", "training": member},
                                           {"name": "y", "training": member}]})
    assert summarize_card(card, "m", "").training == [
        "network 1 (x): preset bundled, 900 iterations, 5 training cases, 0 validation cases, "
        "fine-tuned from older",
        "network 2 (y): preset bundled, 900 iterations, 5 training cases, 0 validation cases, "
        "fine-tuned from older"]


@pytest.fixture()
def model_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = build_model("omnet-cga", width=2).eval()
    path = tmp_path / "mine.safetensors"
    save_model(model, _card(model=model.config, voxel_spacing=[1.0, 1.0, 1.0]), path)
    return path


def test_the_cli_checks_the_file_and_shows_its_sha256(model_file, capsys):
    assert main(["models", "--info", str(model_file)]) == 0
    out = capsys.readouterr().out
    assert f"sha256:         {hashlib.sha256(model_file.read_bytes()).hexdigest()}" in out
    assert main(["models", "--info", str(model_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "mine" and data["network"] == "omnet-cga (OM-Net + CGA), width 2"


def test_the_cli_refuses_a_damaged_file_in_one_line(model_file, capsys):
    data = bytearray(model_file.read_bytes())
    data[-1] ^= 0xFF
    model_file.write_bytes(bytes(data))
    assert main(["models", "--info", str(model_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checksum" in err[0]


@pytest.mark.parametrize(("changes", "trained", "figures"), [
    ({"training": {"preset": "p", "data": {"train_cases": 34, "validation_cases": ["c"]}}},
     ["preset p, ? iterations, ? training cases, 1 validation case"], "none recorded"),
    ({"training": {"ensemble_of": [{"name": "x", "training": "quick"}]}},
     ["network 1 (x): preset ?, ? iterations, 0 training cases, 0 validation cases"],
     "none recorded"),
    ({"metrics": {"heldout": {"postprocessed": [0.9]}}}, [], "none recorded"),
    ({"metrics": {"heldout": {"postprocessed": {"mean": [0.9], "cases": 7}}}}, [],
     "none recorded"),
    ({"metrics": {"heldout": {"postprocessed": {"mean": {"whole": {"dice": 0.5}},
                                                "cases": 7}}}}, [],
     "Dice whole 0.500 (held-out, ? cases)"),
])
def test_training_and_metrics_records_of_another_shape_are_shown_as_unknown(
        changes, trained, figures):
    """The records are free-form: a count where a list of cases was expected, or a list where
    a map was, reads '?' or 'none recorded' instead of stopping with a TypeError."""
    summary = summarize_card(_card(**{"training": {}, **changes}), "m", "")
    assert (summary.training, summary.figures) == (trained, figures)


def test_counts_of_one_take_the_singular():
    """A run of one iteration on one case with one validation case reads '1 iteration,
    1 training case, 1 validation case', and its figures '1 case', not '1 cases'."""
    card = _card(training={"preset": "quick", "iterations": 1,
                           "data": {"train_cases": ["a"], "validation_cases": ["c"]}},
                 metrics={"validation_dice": {"whole": 0.5}, "validation_cases": 1,
                          "validation_iteration": 1})
    summary = summarize_card(card, "m", "")
    assert summary.training == ["preset quick, 1 iteration, 1 training case, 1 validation case"]
    assert summary.figures == "Dice whole 0.500 (training validation, 1 case, iteration 1)"
