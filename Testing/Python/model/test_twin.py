"""A model retrained on every case carries its recipe twin's held-out figures, and only when
the twin really is the same recipe without the held-out cases."""

from __future__ import annotations

import pytest

from omnet.card import ModelCard
from omnet.errors import ModelConfigError
from omnet.model.twin import figures_from_twin, never_seen_figures
from omnet.registry import ModelConfig

HELD_OUT = {"cases": ["c"], "postprocessed": {"cases": {"c": {}}, "mean": {}}}


def _network(lr: float = 0.01, val_cases=("c",), start: str = "sha-start",
             extra: dict | None = None) -> dict:
    """One network's training record as ``omnet train`` writes it."""
    return {"iterations": 900, "initialised_from": {"file_sha256": start},
            "settings": {"optim": {"lr": lr, "init_from": "/somewhere/prev.safetensors"},
                         "data": {"val_cases": list(val_cases), "val_fraction": 0.1},
                         "augment": {"affine_p": 0.2, **(extra or {})}}}


def _card(train, validation, networks, metrics=None) -> ModelCard:
    return ModelCard(name="m", model=ModelConfig(variant="omnet-cga", width=4, members=2),
                     training={"data": {"train_cases": list(train),
                                        "validation_cases": list(validation)},
                               "ensemble_of": [{"training": n} for n in networks]},
                     metrics=metrics or {})


TWIN = _card(["a", "b"], ["c"], [_network(), _network(extra={"blur_p": 0.0})],
             {"heldout": HELD_OUT})


def test_a_model_trained_on_every_case_takes_its_twins_held_out_figures():
    trained = _card(["a", "b", "c"], [],
                    [_network(val_cases=()), _network(val_cases=(), extra={"blur_p": 0.0})])
    figures = figures_from_twin(trained, TWIN, "sha-twin")
    assert figures["postprocessed"] == HELD_OUT["postprocessed"]
    assert figures["twin"] == {"name": "m", "file_sha256": "sha-twin", "tensors_sha256": "",
                               "train_cases": ["a", "b"], "validation_cases": ["c"]}
    card = _card(["a", "b", "c"], [], [], {"recipe_heldout": figures})
    assert never_seen_figures(card) == ({"c"}, figures)


def test_a_setting_added_after_the_twin_was_trained_is_not_compared():
    newer = _network(val_cases=(), extra={"thick_slice_profile": False})
    trained = _card(["a", "b", "c"], [], [newer, _network(val_cases=(), extra={"blur_p": 0.0})])
    assert figures_from_twin(trained, TWIN, "sha")["twin"]["validation_cases"] == ["c"]


@pytest.mark.parametrize("trained, message", [
    (_card(["a", "b"], ["c"], [_network(), _network()]), "holds cases out"),
    (_card(["a", "b", "c", "d"], [], [_network(), _network()]), "not trained on exactly"),
    (_card(["a", "b", "c"], [], [_network(lr=0.02), _network(extra={"blur_p": 0.0})]),
     "different recipes"),
    (_card(["a", "b", "c"], [], [_network(start="other"), _network(extra={"blur_p": 0.0})]),
     "different recipes"),
    (_card(["a", "b", "c"], [], [_network()]), "different recipes"),
])
def test_a_twin_of_another_recipe_or_other_cases_is_refused(trained, message):
    with pytest.raises(ModelConfigError, match=message):
        figures_from_twin(trained, TWIN, "sha")


def test_a_twin_without_held_out_figures_is_refused():
    twin = _card(["a", "b"], ["c"], [_network()])
    with pytest.raises(ModelConfigError, match="no held-out figures"):
        figures_from_twin(_card(["a", "b", "c"], [], [_network()]), twin, "sha")


def test_a_card_without_held_out_figures_has_none_to_show():
    with pytest.raises(ModelConfigError, match="no held-out figures"):
        never_seen_figures(_card(["a"], [], []))


def _specialist(start: str, member: int = 1, val_cases=("c",)) -> dict:
    """A network fine-tuned from member ``member`` of its own recipe's ensemble."""
    network = _network(val_cases=val_cases, start=start)
    network["initialised_from"]["member_of"] = {"name": "m", "member": member,
                                                "file_sha256": start}
    return network


def test_a_member_fine_tuned_from_its_own_ensembles_member_is_compared_by_position():
    twin = _card(["a", "b"], ["c"], [_network(), _specialist("sha-twin-pair")],
                 {"heldout": HELD_OUT})
    trained = _card(["a", "b", "c"], [],
                    [_network(val_cases=()), _specialist("sha-model-pair", val_cases=())])
    assert figures_from_twin(trained, twin, "sha")["twin"]["train_cases"] == ["a", "b"]
    other = _card(["a", "b", "c"], [],
                  [_network(val_cases=()), _specialist("sha-model-pair", 0, val_cases=())])
    with pytest.raises(ModelConfigError, match="different recipes"):
        figures_from_twin(other, twin, "sha")
