"""Settings, presets, generated CLI options, the plan, curriculum stages and the lr steps."""

from __future__ import annotations

import argparse
import json

import pytest

from omnet.cli import main
from omnet.errors import ModelConfigError
from omnet.training.config import TrainConfig, apply_overrides, config_from_dict, preset_config
from omnet.training.options import add_config_options, overrides_from_args
from omnet.training.run import resolve_config
from omnet.training.schedule import (
    Plan,
    active_tasks,
    learning_rate,
    make_plan,
    resume_plan,
    stage_at,
)


def _parse(*argv: str) -> dict:
    parser = argparse.ArgumentParser()
    add_config_options(parser)
    return overrides_from_args(parser.parse_args(list(argv)))


def test_paper_preset_is_the_papers_settings():
    c = preset_config("paper")
    assert (c.model.variant, c.model.width) == ("omnet-cga", 32)
    assert c.sampling.patch_size == [16, 32, 32] and c.sampling.patches_per_task == 20
    assert (c.sampling.transfer_tumour_fraction, c.sampling.transfer_core_fraction) == (0.4, 0.5)
    assert c.schedule.stage_lengths == [1.0, 1.0, 18.0] and c.schedule.stage_unit == "epochs"
    assert (c.optim.lr, c.optim.momentum, c.optim.weight_decay) == (1e-3, 0.99, 5e-4)


def test_quick_preset_is_small_and_short():
    c = preset_config("quick")
    plan = make_plan(c, train_cases=12)
    assert c.model.width < 32 and c.sampling.patches_per_task < 20
    assert plan.total <= 1000


def test_options_only_return_what_was_typed():
    assert _parse() == {}
    got = _parse("--width", "8", "--no-transfer", "--patch-size", "8", "16", "16",
                 "--val-cases", "a", "b", "--variant", "mc2", "--lr", "0.01")
    assert got == {"model": {"width": 8, "variant": "mc2"},
                   "sampling": {"transfer": False, "patch_size": [8, 16, 16]},
                   "data": {"val_cases": ["a", "b"]}, "optim": {"lr": 0.01}}


def test_every_setting_has_an_option():
    parser = argparse.ArgumentParser()
    add_config_options(parser)
    dests = {a.dest for a in parser._actions}
    config = TrainConfig().to_dict()
    for section, values in config.items():
        if isinstance(values, dict):
            for name in values:
                if name != "in_channels":
                    assert f"{section}__{name}" in dests


def test_config_round_trips_through_json():
    c = apply_overrides(preset_config("quick"), {"model": {"variant": "omnet-se"},
                                                 "data": {"val_cases": ["x"]}})
    again = config_from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c


def test_a_config_saved_before_the_slice_profile_existed_resumes_without_it():
    saved = preset_config("bundled").to_dict()
    del saved["augment"]["thick_slice_profile"]
    saved["augment"]["thick_slice_p"] = 0.35
    assert config_from_dict(json.loads(json.dumps(saved))).augment.thick_slice_profile is False
    fresh = preset_config("paper").to_dict()
    assert config_from_dict(fresh).augment.thick_slice_profile is True


@pytest.mark.parametrize("section, values", [
    ("sampling", {"patch_size": [16, 30, 32]}), ("schedule", {"stage_lengths": [1, 1]}),
    ("data", {"folds": 3, "fold": 3}), ("model", {"width": 3}), ("data", {"val_fraction": 1.0}),
])
def test_bad_settings_are_refused(section, values):
    with pytest.raises(ModelConfigError):
        apply_overrides(preset_config("paper"), {section: values}).validate()


@pytest.mark.parametrize("section, values", [
    ("optim", {"lr": -1.0}), ("optim", {"momentum": -0.5}), ("optim", {"momentum": 1.0}),
    ("run", {"val_max_cases": -1}), ("sampling", {"tumour_dilation": -1}),
    ("run", {"threads": -3}), ("run", {"validate_every": -1}), ("run", {"checkpoint_every": -2}),
    ("data", {"fold": 3}), ("augment", {"noise_p": 1.5}),
])
def test_out_of_range_numbers_are_refused_from_python_too(section, values):
    with pytest.raises(ModelConfigError):
        apply_overrides(preset_config("quick"), {section: values}).validate()


@pytest.mark.parametrize("argv, words", [
    (("--lr", "-1"), "argument --lr: must be > 0, got -1"),
    (("--momentum", "-0.5"), "argument --momentum: must be in [0, 1), got -0.5"),
    (("--val-max-cases", "-1"), "argument --val-max-cases: must be >= 0, got -1"),
    (("--tumour-dilation", "-1"), "argument --tumour-dilation: must be >= 0, got -1"),
    (("--threads", "-3"), "argument --threads: must be >= 0, got -3"),
    (("--validate-every", "-1"), "argument --validate-every: must be >= 0, got -1"),
    (("--checkpoint-every", "-2"), "argument --checkpoint-every: must be >= 0, got -2"),
    (("--threads", "x"), "argument --threads: invalid int value: 'x'"),
    (("--fold", "3"), "fold 3 needs folds"),
])
def test_bad_numbers_are_one_line_before_anything_is_written(tmp_path, capsys, argv, words):
    """Refused on the command line in one line ``omnet: error:`` (exit 2), before a run
    folder exists that would block the corrected command."""
    code = 0
    try:
        code = main(["train", str(tmp_path / "data"), "--out", str(tmp_path / "run"), *argv])
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("omnet: error: ") and words in err, err
    assert not (tmp_path / "run").exists()


def test_good_bounds_pass():
    got = _parse("--lr", "0.05", "--momentum", "0", "--threads", "0", "--task1-tumour-share", "1")
    assert got["optim"] == {"lr": 0.05, "momentum": 0.0} and got["run"] == {"threads": 0}


def test_unknown_setting_is_refused():
    with pytest.raises(ModelConfigError, match="nonsense"):
        apply_overrides(preset_config("paper"), {"optim": {"nonsense": 1}})


def test_epoch_plan_matches_the_paper_arithmetic():
    # the paper: 400k patches per epoch at 20 per iteration = 20k iterations per epoch
    c = apply_overrides(preset_config("paper"),
                        {"schedule": {"epoch_patches_per_case": 1000}})
    plan = make_plan(c, train_cases=400)
    assert plan.iterations_per_epoch == 20_000
    assert plan.stage_ends == (20_000, 40_000, 400_000)
    assert plan.lr_halve_iterations == 80_000  # the release: every 80k of 400k


def test_curriculum_stages_switch_at_their_ends():
    c = apply_overrides(preset_config("quick"), {"schedule": {"stage_lengths": [3, 2, 5]}})
    plan = make_plan(c, train_cases=5)
    stages = [stage_at(plan, i) for i in range(plan.total)]
    assert stages == [1, 1, 1, 2, 2, 3, 3, 3, 3, 3]
    assert active_tasks(plan, 0) == (1,)
    assert active_tasks(plan, 3) == (1, 2)
    assert active_tasks(plan, 9) == (1, 2, 3)


def test_iterations_scale_the_stages_proportionally():
    c = apply_overrides(preset_config("paper"), {"schedule": {"iterations": 200}})
    plan = make_plan(c, train_cases=16)
    assert plan.stage_ends == (10, 20, 200)


def test_no_curriculum_trains_every_task_from_the_start():
    c = apply_overrides(preset_config("quick"), {"schedule": {"curriculum": False}})
    plan = make_plan(c, train_cases=5)
    assert active_tasks(plan, 0) == (1, 2, 3)


@pytest.mark.parametrize("variant, tasks", [("mc1", (1,)), ("mc2", (1, 2)), ("mc3", (1, 2, 3))])
def test_cascades_train_their_own_tasks_without_curriculum_or_transfer(variant, tasks):
    c = apply_overrides(preset_config("quick"), {"model": {"variant": variant}}).effective()
    plan = make_plan(c, train_cases=5)
    assert active_tasks(plan, 0) == tasks
    assert not c.sampling.transfer and not c.schedule.curriculum


def test_learning_rate_halves_at_fractions_of_the_run():
    c = apply_overrides(preset_config("quick"),
                        {"schedule": {"iterations": 100}, "optim": {"lr_halve_every": 0.25}})
    plan = make_plan(c, train_cases=5)
    lrs = [learning_rate(plan, 1.0, i) for i in (0, 24, 25, 49, 50, 99)]
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]


def _quick_plan(iterations: int, schedule: str = "step") -> Plan:
    config = apply_overrides(preset_config("quick"), {"schedule": {"iterations": iterations},
                                                      "optim": {"lr_schedule": schedule}})
    return make_plan(config, train_cases=3)


@pytest.mark.parametrize("schedule", ["step", "poly", "cosine"])
def test_a_run_extended_on_resume_never_goes_back(schedule):
    """14 of 20 iterations done (stage 3), extended to 200: the resumed run stays in stage 3
    and its learning rate goes on from the rate reached, never above it."""
    before = _quick_plan(20, schedule)
    assert before.stage_ends == (2, 4, 20) and stage_at(before, 14) == 3
    after = resume_plan(_quick_plan(200, schedule), before, done=14)
    assert after.total == 200 and after.stage_ends == (2, 4, 200)
    assert {stage_at(after, i) for i in range(14, 200)} == {3}
    reached = learning_rate(before, 0.05, 14)
    rates = [learning_rate(after, 0.05, i) for i in range(14, 200)]
    assert rates[0] == reached
    assert all(b <= a for a, b in zip(rates, rates[1:]))
    assert rates[-1] < reached


def test_a_run_extended_early_follows_the_new_plan():
    """Resumed in stage 1 before the rate fell: exactly the plan made for the new length."""
    fresh = _quick_plan(200)
    after = resume_plan(fresh, _quick_plan(20), done=1)
    assert after.stage_ends == fresh.stage_ends == (20, 40, 200)
    assert [learning_rate(after, 1.0, i) for i in range(1, 200)] == \
        [learning_rate(fresh, 1.0, i) for i in range(1, 200)]


def test_a_resumed_plan_is_kept_when_the_length_stays():
    """A re-planned run interrupted again goes on with the same plan, which survives the
    checkpoint's JSON."""
    once = resume_plan(_quick_plan(200), _quick_plan(20), done=14)
    saved = Plan.from_dict(json.loads(json.dumps(once.to_dict())))
    assert saved == once
    assert resume_plan(_quick_plan(200), saved, done=50) == once


def test_a_shortened_run_moves_on_to_the_next_stage():
    """Shortened from 200 to 20 after 14 iterations (stage 1 of 200): stage 3 from there."""
    after = resume_plan(_quick_plan(20), _quick_plan(200), done=14)
    assert after.stage_ends == (14, 14, 20) and stage_at(after, 14) == 3


def test_resume_keeps_the_saved_settings(tmp_path):
    saved = apply_overrides(preset_config("quick"), {"model": {"width": 4}})
    (tmp_path / "config.json").write_text(json.dumps({"config": saved.to_dict()}))
    same = resolve_config(tmp_path, None, {"model": {"width": 4}, "run": {"device": "cpu"}},
                          resume=True)
    assert same.model.width == 4 and same.run.device == "cpu"
    with pytest.raises(ModelConfigError, match="width"):
        resolve_config(tmp_path, None, {"model": {"width": 8}}, resume=True)


def test_resume_can_correct_a_saved_value_that_may_change(tmp_path):
    """Values older versions saved unchecked: a resumable setting is checked after the
    --resume overrides (so it can be corrected), and a fold without folds (ignored then)
    loads as fold 0."""
    saved = preset_config("quick").to_dict()
    saved["run"]["threads"], saved["data"]["fold"] = -3, 3
    (tmp_path / "config.json").write_text(json.dumps({"config": saved}))
    with pytest.raises(ModelConfigError, match="threads must be >= 0, got -3"):
        resolve_config(tmp_path, None, {}, resume=True)
    fixed = resolve_config(tmp_path, None, {"run": {"threads": 0}}, resume=True)
    assert fixed.run.threads == 0 and fixed.data.fold == 0
