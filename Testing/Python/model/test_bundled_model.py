"""The model the project ships: present, ours, honest about its data, used without a flag."""

from __future__ import annotations

import pytest

from omnet import segment
from omnet.bundled import BUNDLED_DIR, default_model_path, list_bundled_models
from omnet.evaluation.files import evaluate_files
from omnet.model.twin import SPLIT_SETTINGS, never_seen_figures
from omnet.model.weights import load_model

LOW_GRADE_PREFIXES = ("Brats18_TCIA10", "Brats18_TCIA13")
LIMIT_BYTES = 30 * 1024 * 1024


@pytest.fixture(scope="module")
def bundled():
    models = list_bundled_models()
    assert models, f"no bundled model in {BUNDLED_DIR}"
    return models


def test_bundled_models_load_and_stay_small(bundled):
    for path, card in bundled:
        assert path.stat().st_size < LIMIT_BYTES
        loaded = load_model(path)  # checks the sha256 and the card against the tensors
        assert loaded.card.name == card.name == path.stem
        assert loaded.card.model.variant == "omnet-cga"


def test_default_is_a_bundled_model_for_cpu_and_gpu(bundled):
    paths = {path for path, _ in bundled}
    assert default_model_path("cpu") in paths
    assert default_model_path("cuda") in paths


def test_card_figures_come_from_cases_its_networks_never_saw(bundled):
    """A card's figures are its own held-out split's, or, for a model retrained on every
    case, those of its recipe twin, whose training lacked exactly those cases."""
    for _, card in bundled:
        held_out, figures = never_seen_figures(card)
        trained_on = set(card.training["data"]["train_cases"])
        if "heldout" in card.metrics:
            assert not trained_on & held_out
        else:
            twin_trained_on = set(figures["twin"]["train_cases"])
            assert not twin_trained_on & held_out
            assert trained_on == twin_trained_on | held_out
        assert len(held_out) >= 4
        assert any(case.startswith(LOW_GRADE_PREFIXES) for case in held_out)
        for kind in ("raw", "postprocessed"):
            assert set(figures[kind]["cases"]) == held_out
            for region in ("whole", "core", "enhancing"):
                assert 0.0 <= figures[kind]["mean"][region]["dice"] <= 1.0


def test_named_presets_reproduce_the_bundled_networks_recipes(bundled):
    """Each network of the default model was trained with a preset's settings, bar the
    starting weights (a path on the training machine, recorded with its checksum) and
    which cases validate (the card's data record names them)."""
    from omnet.training.config import preset_config

    card = dict(bundled)[default_model_path("cpu")]
    members = card.training.get("ensemble_of") or [{"training": card.training}]
    presets = ("bundled", "bundled-plain", "bundled-thick")[:len(members)]
    for member, preset in zip(members, presets):
        recorded = member["training"]["settings"]
        wanted = preset_config(preset).to_dict()
        for section, values in recorded.items():
            if isinstance(values, dict):
                for name, value in values.items():
                    if (section, name) not in SPLIT_SETTINGS:
                        assert wanted[section][name] == value, (preset, section, name)


def test_segment_uses_the_bundled_model_on_a_low_grade_case(bundled, brats_dir, tmp_path):
    path = default_model_path("cpu")  # what a user gets without --model
    card = dict(bundled)[path]
    held_out, _ = never_seen_figures(card)
    case = sorted(c for c in held_out if c.startswith(LOW_GRADE_PREFIXES))[0]
    folder = brats_dir / case
    result = segment(folder, tmp_path / "tumour.nii.gz", device="cpu")
    assert result.report["model"]["name"] == card.name
    metrics = evaluate_files(tmp_path / "tumour.nii.gz", folder / f"{case}_seg.nii.gz")
    # the tumour is found: a floor far below the paper's figures, well above chance
    assert metrics.status == "ok" and metrics.regions["whole"].dice > 0.5


def test_the_default_model_swaps_in_its_thick_slice_member_for_four_thick_series(bundled):
    """The shipped ensemble: two networks for ordinary input; on four thick-slice series
    the third (trained on them) takes the second's place, the first stays."""
    import torch

    from omnet.inference.model_source import resolve_model, thick_slice_network

    card = dict(bundled)[default_model_path("cpu")]
    assert card.model.member_inputs == ("any", "ordinary", "thick")
    assert card.training["ensemble_of"][2]["training"]["settings"]["augment"][
        "thick_slice_sequences"] == "all"
    source = resolve_model(default_model_path("cpu"), torch.device("cpu"))
    thick = thick_slice_network(source)
    assert list(thick.module.members) == [source.module.members[0], source.module.members[2]]
    assert source.module.averaged == (0, 1)
