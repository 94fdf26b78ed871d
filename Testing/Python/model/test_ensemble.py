"""Ensembles: the mean of the members' probabilities, one file, honest about their data."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from script_modules import load_script

from omnet.card import ModelCard
from omnet.errors import ModelConfigError
from omnet.inference.model_source import resolve_model
from omnet.inference.predict import TilingSettings, predict_crop
from omnet.model import Ensemble, build_model
from omnet.model.ensemble import combine_models, first_member
from omnet.model.weights import LoadedModel, load_model, save_model
from omnet.registry import ModelConfig

SPLIT = {"train_cases": ["a", "b"], "validation_cases": ["c"]}


def _member(seed: int, tmp_path: Path, width: int = 4, split: dict | None = None,
            ) -> LoadedModel:
    """A small trained-looking network saved and loaded as a model file."""
    torch.manual_seed(seed)
    model = build_model("omnet-cga", width=width)
    model(torch.randn(2, 4, 8, 16, 16))  # BatchNorm statistics away from their defaults
    card = ModelCard(name=f"m{seed}", model=model.config,
                     training={"data": split or SPLIT, "iterations": seed})
    path = tmp_path / f"m{seed}-w{width}.safetensors"
    save_model(model.eval(), card, path)
    return load_model(path)


def _softmaxes(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        return [torch.softmax(t.float(), 1) for t in model(x)]


def test_the_ensemble_outputs_the_mean_of_its_members_probabilities(tmp_path):
    a, b = _member(1, tmp_path), _member(2, tmp_path)
    ensemble, _ = combine_models([a, b], "pair")
    x = torch.randn(1, 4, 16, 16, 16)
    expected = [(pa + pb) / 2 for pa, pb in zip(_softmaxes(a.model, x), _softmaxes(b.model, x))]
    for got, want in zip(_softmaxes(ensemble, x), expected):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    # the two members disagree, so the mean is neither of them
    assert not torch.allclose(_softmaxes(a.model, x)[1], expected[1], atol=1e-3)


def test_an_ensemble_file_round_trips_with_its_members_records(tmp_path):
    a, b = _member(1, tmp_path), _member(2, tmp_path)
    ensemble, card = combine_models([a, b], "pair")
    save_model(ensemble, card, tmp_path / "pair.safetensors", storage_dtype="float32")
    loaded = load_model(tmp_path / "pair.safetensors")
    assert isinstance(loaded.model, Ensemble) and loaded.card.model.members == 2
    assert loaded.card.training["data"] == SPLIT
    assert [m["name"] for m in loaded.card.training["ensemble_of"]] == ["m1", "m2"]
    assert loaded.card.training["ensemble_of"][1]["file_sha256"] == b.file_sha256
    x = torch.randn(1, 4, 16, 16, 16)
    for got, want in zip(_softmaxes(loaded.model, x), _softmaxes(ensemble, x)):
        torch.testing.assert_close(got, want)


def test_members_of_other_networks_or_other_splits_are_refused(tmp_path):
    a = _member(1, tmp_path)
    with pytest.raises(ModelConfigError, match="at least two"):
        combine_models([a], "one")
    with pytest.raises(ModelConfigError, match="different networks"):
        combine_models([a, _member(2, tmp_path, width=6)], "mixed")
    other = _member(3, tmp_path, split={"train_cases": ["a", "c"], "validation_cases": ["b"]})
    with pytest.raises(ModelConfigError, match="same split"):
        combine_models([a, other], "leaky")
    ensemble, card = combine_models([a, _member(2, tmp_path)], "pair")
    nested = LoadedModel(ensemble, card, tmp_path / "pair.safetensors", "0" * 64)
    with pytest.raises(ModelConfigError, match="ensemble itself"):
        combine_models([nested, a], "nested")


def test_single_network_cards_are_written_as_before_and_bad_counts_refused():
    assert "members" not in ModelConfig(width=4).to_dict()
    assert ModelConfig(width=4, members=3).to_dict()["members"] == 3
    assert ModelConfig.from_dict({"variant": "omnet-cga", "width": 4}).members == 1
    with pytest.raises(ModelConfigError, match="members"):
        ModelConfig(width=4, members=0)


def test_the_context_window_reaches_every_member_and_training_is_refused(tmp_path):
    ensemble = build_model(ModelConfig(width=4, members=2))
    ensemble.context_window = (8, 16, 16)
    assert [m.context_window for m in ensemble.members] == [(8, 16, 16)] * 2
    with pytest.raises(TypeError, match="train each member"):
        ensemble.forward_groups(torch.randn(1, 4, 8, 16, 16), {1: torch.tensor([0])})


def test_fine_tuning_starts_from_the_first_member(tmp_path):
    a, b = _member(1, tmp_path), _member(2, tmp_path)
    ensemble, _ = combine_models([a, b], "pair")
    network = first_member(ensemble)
    assert network.config == a.card.model and network.config.members == 1
    assert all(torch.equal(network.state_dict()[k], v) for k, v in a.model.state_dict().items())
    assert first_member(a.model) is a.model


def test_fast_inference_of_an_ensemble_averages_the_members_tile_by_tile(tmp_path):
    """Through the tiled, BatchNorm-folded inference path, with the CGA maps asked for."""
    a, b = _member(1, tmp_path), _member(2, tmp_path)
    ensemble, card = combine_models([a, b], "pair")
    save_model(ensemble, card, tmp_path / "pair.safetensors")
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(4, 40, 72, 72)).astype(np.float32)
    brain = np.ones(volume.shape[1:], dtype=bool)
    cpu = torch.device("cpu")
    settings = TilingSettings(mode="fast")

    def run(path: Path, attention: bool = False):
        return predict_crop(volume, brain, resolve_model(str(path), cpu), cpu, "float32",
                            settings=settings, with_attention=attention).outputs

    both = run(tmp_path / "pair.safetensors", attention=True)
    alone = [run(m.path) for m in (a, b)]
    for task in ("task1", "task2", "task3"):
        np.testing.assert_allclose(both[task], (alone[0][task] + alone[1][task]) / 2,
                                   atol=2e-4)
    first = run(a.path, attention=True)
    np.testing.assert_allclose(both["cga_core_pt"], first["cga_core_pt"], atol=1e-5)
    assert dataclasses.replace(card.model, members=1) == a.card.model


def test_the_resolution_matched_pass_reads_with_the_first_network_only(tmp_path):
    from omnet.inference.model_source import first_network

    a, b = _member(1, tmp_path), _member(2, tmp_path)
    ensemble, card = combine_models([a, b], "pair")
    save_model(ensemble, card, tmp_path / "pair.safetensors")
    source = resolve_model(str(tmp_path / "pair.safetensors"), torch.device("cpu"))
    first = first_network(source)
    assert source.members == 2 and first.members == 1
    assert first.module is source.module.members[0] and first.name == "pair (first network)"
    single = resolve_model(str(a.path), torch.device("cpu"))
    assert first_network(single) is single


def test_a_thick_slice_member_runs_only_on_thick_input(tmp_path):
    """Members marked ordinary / thick: the first two averaged on ordinary input, the
    first and the specialist on input whose four sequences all have thick slices."""
    from omnet.inference.model_source import thick_slice_network

    a, b, c = _member(1, tmp_path), _member(2, tmp_path), _member(3, tmp_path)
    ensemble, card = combine_models([a, b, c], "trio",
                                    member_inputs=("any", "ordinary", "thick"))
    save_model(ensemble, card, tmp_path / "trio.safetensors", storage_dtype="float32")
    loaded = load_model(tmp_path / "trio.safetensors")
    assert loaded.card.model.member_inputs == ("any", "ordinary", "thick")
    assert loaded.card.description.endswith(
        "averaged over the members for the input (any, ordinary, thick)")
    x = torch.randn(1, 4, 16, 16, 16)
    pa, pb, pc = (_softmaxes(m.model, x) for m in (a, b, c))
    for got, one, two in zip(_softmaxes(loaded.model, x), pa, pb):
        torch.testing.assert_close(got, (one + two) / 2, atol=1e-5, rtol=1e-5)
    source = resolve_model(str(tmp_path / "trio.safetensors"), torch.device("cpu"))
    thick = thick_slice_network(source)
    assert thick.members == 2 and thick.name == "trio (thick-slice members)"
    assert thick.module.members[1] is source.module.members[2]   # weights shared, not copied
    for got, one, two in zip(_softmaxes(thick.module, x), pa, pc):
        torch.testing.assert_close(got, (one + two) / 2, atol=1e-5, rtol=1e-5)
    pair = resolve_model(str(a.path), torch.device("cpu"))
    assert thick_slice_network(pair) is pair


def test_member_inputs_are_checked_and_left_out_of_cards_without_them():
    assert "member_inputs" not in ModelConfig(width=4, members=2).to_dict()
    config = ModelConfig.from_dict({"width": 4, "members": 2, "member_inputs": ["any", "thick"]})
    assert config.members_for(thick=False) == (0,) and config.members_for(thick=True) == (0, 1)
    with pytest.raises(ModelConfigError, match="one entry per member"):
        ModelConfig(width=4, members=3, member_inputs=("any", "thick"))
    with pytest.raises(ModelConfigError, match="unknown sideways"):
        ModelConfig(width=4, members=2, member_inputs=("any", "sideways"))
    with pytest.raises(ModelConfigError, match="no member for ordinary"):
        ModelConfig(width=4, members=2, member_inputs=("thick", "thick"))


def test_a_member_taken_out_of_an_ensemble_says_where_it_came_from(tmp_path):
    from omnet.model.ensemble import member_model

    a, b = _member(1, tmp_path), _member(2, tmp_path)
    ensemble, card = combine_models([a, b], "pair")
    save_model(ensemble, card, tmp_path / "pair.safetensors", storage_dtype="float32")
    pair = load_model(tmp_path / "pair.safetensors")
    network, member_card = member_model(pair, 1)
    assert member_card.name == "m2" and member_card.model == b.card.model
    assert member_card.training["member_of"] == {"name": "pair", "member": 1,
                                                 "file_sha256": pair.file_sha256}
    assert member_card.training["iterations"] == 2
    assert all(torch.equal(network.state_dict()[k], v) for k, v in b.model.state_dict().items())
    with pytest.raises(ModelConfigError, match="no member 3"):
        member_model(pair, 2)


def _make_ensemble_tool():
    return load_script("tools/make_ensemble.py")


def test_make_ensemble_refuses_mismatched_members_in_one_line_and_writes_nothing(
        tmp_path, capsys):
    """Members of other widths or a pickle were a traceback (exit 1); a card without a
    split record crashed after the model file was written."""
    tool = _make_ensemble_tool()
    a, b = _member(1, tmp_path), _member(2, tmp_path, width=6)
    pickle = tmp_path / "old.pth"
    torch.save({"state_dict": {}}, pickle)
    for second, words in ((b.path, "width 6 against 4"), (pickle, "pickle")):
        out = tmp_path / "ensemble"
        assert tool.main([str(a.path), str(second), "--name", "e", "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("make_ensemble: error:") and words in err[0]
        assert not out.exists()


def test_make_ensemble_writes_a_split_for_members_without_a_recorded_one(tmp_path):
    tool = _make_ensemble_tool()
    paths = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        model = build_model("omnet-cga", width=4).eval()
        paths.append(tmp_path / f"bare{seed}.safetensors")
        save_model(model, ModelCard(name=f"bare{seed}", model=model.config), paths[-1])
    out = tmp_path / "ensemble"
    assert tool.main([*map(str, paths), "--name", "e", "--out", str(out)]) == 0
    assert (out / "split.json").read_text().split() == ["{", '"train":', "[],",
                                                        '"validation":', "[]", "}"]
    assert load_model(out / "model.safetensors").card.model.members == 2


def test_make_ensemble_logs_the_files_it_wrote_not_its_temporary_folder(tmp_path, caplog):
    """The model file's "saved" line named ``.ensemble.partial-*/``, gone once the tool ends."""
    tool = _make_ensemble_tool()
    a, b = _member(1, tmp_path), _member(2, tmp_path)
    out = tmp_path / "ensemble"
    with caplog.at_level(logging.INFO):
        assert tool.main([str(a.path), str(b.path), "--name", "e", "--out", str(out)]) == 0
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if ".partial" in m]
    assert messages[-1].startswith(f"ensemble of 2 networks written to {out}: model.json, "
                                   "model.safetensors")


def test_make_ensemble_stopped_between_model_and_split_leaves_neither(tmp_path, monkeypatch):
    """The model file was written into OUT, then split.json: a failure in between left a
    model without its split (bundle_model then measured it on no validation cases)."""
    tool = _make_ensemble_tool()
    a, b = _member(1, tmp_path), _member(2, tmp_path)
    out = tmp_path / "runs" / "ensemble"
    real_save_model = tool.save_model

    def save_model_then_fail(*args, **kwargs):
        real_save_model(*args, **kwargs)
        raise OSError("No space left on device")

    monkeypatch.setattr(tool, "save_model", save_model_then_fail)
    arguments = [str(a.path), str(b.path), "--out", str(out)]
    with pytest.raises(OSError, match="No space left"):
        tool.main([*arguments, "--name", "new"])
    assert list((tmp_path / "runs").iterdir()) == []  # no OUT, no temporary folder

    monkeypatch.setattr(tool, "save_model", real_save_model)
    assert tool.main([*arguments, "--name", "old"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"model.safetensors", "split.json"} <= set(before)
    monkeypatch.setattr(tool, "save_model", save_model_then_fail)
    with pytest.raises(OSError, match="No space left"):
        tool.main([*arguments, "--name", "new"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old pair, whole
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["ensemble"]
    assert load_model(out / "model.safetensors").card.name == "old"


def test_members_trained_at_another_voxel_spacing_are_refused(tmp_path):
    a = _member(1, tmp_path)
    b = _member(2, tmp_path)
    b = dataclasses.replace(b, card=dataclasses.replace(b.card, voxel_spacing=[1.0, 1.0, 3.0]))
    with pytest.raises(ModelConfigError, match="voxel_spacing"):
        combine_models([a, b], "mixed spacing")
