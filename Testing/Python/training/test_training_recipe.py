"""The shipped model's recipe: loss margin, soft Dice, poly/cosine rates, windowed context,
TorchIO augmentation, fine-tuning from a model file, and a run extended on resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import memory_case

from omnet.card import ModelCard
from omnet.errors import ModelConfigError
from omnet.model import build_model
from omnet.model.context import CoarseWindow
from omnet.model.weights import save_model
from omnet.registry import ModelConfig
from omnet.training.augmentation import TorchioAugmenter, thick_slice_groups, uses_torchio
from omnet.training.config import AugmentSettings, preset_config
from omnet.training.losses import crop_margin, soft_dice_loss, task_loss
from omnet.training.run import _initialise, _note_seen_validation
from omnet.training.runtime import Precision
from omnet.training.schedule import learning_rate, make_plan
from omnet.training.trainer import Trainer

CPU = torch.device("cpu")


def test_crop_margin_cuts_the_last_three_axes_only():
    x = np.arange(2 * 3 * 8 * 10 * 12).reshape(2, 3, 8, 10, 12)
    out = crop_margin(x, (1, 2, 3))
    assert out.shape == (2, 3, 6, 6, 6)
    assert out[0, 0, 0, 0, 0] == x[0, 0, 1, 2, 3]
    assert crop_margin(x, (0, 0, 0)) is x


def test_soft_dice_of_a_uniform_guess_is_known():
    # two classes, every voxel class 1, probabilities 0.5: Dice = 2 * 0.5n / (0.5n + n) = 2/3
    logits = torch.zeros(1, 2, 2, 4, 4)
    target = torch.ones(1, 2, 4, 4, dtype=torch.long)
    assert float(soft_dice_loss(logits, target)) == pytest.approx(1 / 3, abs=1e-4)


def test_soft_dice_of_a_confident_right_answer_is_zero():
    target = torch.randint(0, 3, (2, 4, 4, 4))
    logits = 50.0 * torch.nn.functional.one_hot(target, 3).movedim(-1, 1).float()
    assert float(soft_dice_loss(logits, target)) == pytest.approx(0.0, abs=1e-4)


def test_ce_plus_dice_adds_the_two_terms():
    logits = torch.randn(2, 5, 4, 4, 4)
    target = torch.randint(0, 5, (2, 4, 4, 4))
    ce = torch.nn.functional.cross_entropy(logits, target)
    assert float(task_loss("ce", logits, target)) == pytest.approx(float(ce))
    both = float(ce) + float(soft_dice_loss(logits, target))
    assert float(task_loss("ce+dice", logits, target)) == pytest.approx(both, rel=1e-5)


def _plan(schedule: str, total: int = 100):
    config = preset_config("bundled")
    config = type(config)(**{**config.__dict__, "optim": type(config.optim)(
        **{**config.optim.__dict__, "lr_schedule": schedule})})
    config.schedule.iterations = total
    return make_plan(config, 10)


def test_poly_and_cosine_rates_at_known_points():
    poly, cosine = _plan("poly"), _plan("cosine")
    assert learning_rate(poly, 1.0, 0) == 1.0
    assert learning_rate(poly, 1.0, 50) == pytest.approx(0.5 ** 0.9)
    assert learning_rate(cosine, 1.0, 50) == pytest.approx(0.5)
    assert learning_rate(cosine, 1.0, 100) == pytest.approx(0.0, abs=1e-12)
    assert learning_rate(_plan("step"), 1.0, 25) == 0.5  # halved after 0.2 of the run


def test_bundled_preset_is_valid_and_matches_fast_inference():
    config = preset_config("bundled").validate()
    assert config.sampling.context == "window"
    assert config.sampling.patch_size == [32, 64, 64]
    assert config.optim.loss == "ce+dice" and config.optim.lr_schedule == "poly"
    assert len(config.data.val_cases) >= 6
    assert any(case.startswith(("Brats18_TCIA10", "Brats18_TCIA13"))
               for case in config.data.val_cases)  # a low-grade case validates
    assert uses_torchio(config.augment)


def test_the_plain_preset_is_the_bundled_recipe_without_torchio_augmentation():
    plain, bundled = preset_config("bundled-plain").validate(), preset_config("bundled")
    assert not uses_torchio(plain.augment)
    assert plain.augment.flip_axes == bundled.augment.flip_axes == [0, 1, 2]
    for section in ("model", "data", "sampling", "schedule", "optim", "run"):
        assert getattr(plain, section) == getattr(bundled, section)
    assert bundled.schedule.iterations == 900  # the shipped runs' length, without a flag


def test_an_ensemble_config_cannot_be_trained():
    config = preset_config("quick")
    config = type(config)(**{**config.__dict__, "model": ModelConfig(width=8, members=2)})
    with pytest.raises(ModelConfigError, match="ensemble"):
        config.validate()


def test_a_loss_margin_as_large_as_half_the_patch_is_refused():
    config = preset_config("quick")
    config.sampling.loss_margin = [4, 16, 2]
    config.sampling.patch_size = [16, 32, 32]
    with pytest.raises(ModelConfigError, match="loss-margin"):
        config.validate()


def test_windowed_training_with_a_margin_runs_and_uses_the_inference_window(tiny_config,
                                                                            tmp_path):
    config = tiny_config(sampling={"patch_size": [16, 32, 32], "loss_margin": [2, 4, 4],
                                   "context": "window"},
                         schedule={"stage_lengths": [0, 0, 2]}, optim={"loss": "ce+dice"})
    model = build_model(config.model)
    trainer = Trainer(config, make_plan(config, 1), model, [memory_case("a", 1)], device=CPU,
                      precision=Precision(None, False), checkpoint_dir=tmp_path)
    assert isinstance(model.context_window, CoarseWindow)
    assert model.context_window.size == (16, 32, 32)
    record = trainer.train_step(0)
    assert all(math.isfinite(v) for v in record.loss.values() if v is not None)


def _augmenter(**probabilities) -> TorchioAugmenter:
    settings = AugmentSettings(**probabilities, margin=[2, 4, 4])
    return TorchioAugmenter(settings)


def _crop():
    case = memory_case("a", 1, shape=(12, 24, 24), centre=(6, 12, 12))
    return np.asarray(case.images, dtype=np.float32), np.asarray(case.classes)


def test_torchio_augmentation_returns_the_central_patch_zero_outside_the_brain():
    image, classes = _crop()
    augment = _augmenter(affine_p=1.0, noise_p=1.0, bias_field_p=1.0, gamma_p=1.0)
    out_image, out_classes = augment(image, classes, np.random.default_rng(0), (8, 16, 16))
    assert out_image.shape == (4, 8, 16, 16) and out_classes.shape == (8, 16, 16)
    assert out_image.dtype == np.float32 and out_classes.dtype == np.uint8
    assert np.all(out_image[:, out_classes == 0] == 0)
    assert set(np.unique(out_classes)) <= {0, 1, 2, 3, 4}


def test_torchio_augmentation_depends_only_on_the_generator():
    image, classes = _crop()
    augment = _augmenter(affine_p=1.0, elastic_p=1.0, noise_p=1.0)
    first = augment(image, classes, np.random.default_rng(5), (8, 16, 16))
    second = augment(image, classes, np.random.default_rng(5), (8, 16, 16))
    other = augment(image, classes, np.random.default_rng(6), (8, 16, 16))
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other[0])


def test_thick_slice_simulation_changes_exactly_one_sequence():
    image, classes = _crop()
    augment = _augmenter(thick_slice_p=1.0)
    out_image, out_classes = augment(image, classes, np.random.default_rng(1), (8, 16, 16))
    centre = image[:, 2:10, 4:20, 4:20]
    assert np.array_equal(out_classes, classes[2:10, 4:20, 4:20])
    changed = [not np.allclose(out_image[c], centre[c]) for c in range(4)]
    assert sum(changed) == 1


def test_mixed_thick_slice_groups_add_the_hospital_mixes():
    names = ("flair", "t1", "t1ce", "t2")
    assert thick_slice_groups(names, "one") == [["flair"], ["t1"], ["t1ce"], ["t2"]]
    mixed = thick_slice_groups(names, "mixed")
    assert mixed[:4] == [["flair"], ["t1"], ["t1ce"], ["t2"]]
    assert mixed[4:] == [["flair", "t1", "t2"], ["flair", "t1", "t1ce", "t2"]]
    assert thick_slice_groups(names, "all") == [["flair", "t1", "t1ce", "t2"]]


def test_all_thick_slice_simulation_hits_every_sequence():
    image, classes = _crop()
    augment = _augmenter(thick_slice_p=1.0, thick_slice_sequences="all")
    centre = image[:, 2:10, 4:20, 4:20]
    for seed in range(4):
        out_image, _ = augment(image, classes, np.random.default_rng(seed), (8, 16, 16))
        assert all(not np.allclose(out_image[c], centre[c]) for c in range(4))


def test_mixed_thick_slice_simulation_can_hit_several_sequences():
    image, classes = _crop()
    augment = _augmenter(thick_slice_p=1.0, thick_slice_sequences="mixed")
    centre = image[:, 2:10, 4:20, 4:20]
    counts = set()
    for seed in range(24):
        out_image, _ = augment(image, classes, np.random.default_rng(seed), (8, 16, 16))
        counts.add(sum(not np.allclose(out_image[c], centre[c]) for c in range(4)))
    assert counts == {1, 3, 4}


def test_the_slice_profile_smooths_along_the_slice_axis_only_when_asked():
    image, classes = _crop()
    rng = np.random.default_rng
    with_profile = _augmenter(thick_slice_p=1.0)(image, classes, rng(3), (8, 16, 16))[0]
    picked = _augmenter(thick_slice_p=1.0, thick_slice_profile=False)(
        image, classes, rng(3), (8, 16, 16))[0]
    assert not np.allclose(with_profile, picked)
    assert preset_config("bundled").augment.thick_slice_profile is False   # as it was trained
    assert preset_config("paper").augment.thick_slice_profile is True


def test_init_from_loads_the_weights_and_refuses_another_width(tmp_path):
    config = preset_config("quick")
    config.model = type(config.model)(variant="omnet-cga", width=4)
    torch.manual_seed(1)
    source = build_model(config.model)
    path = tmp_path / "start.safetensors"
    save_model(source, ModelCard(name="start", model=source.config), path)
    config.optim.init_from = str(path)
    model = build_model(config.model)
    record = _initialise(model, config)
    assert record["name"] == "start" and len(record["file_sha256"]) == 64
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    config.model = type(config.model)(variant="omnet-cga", width=6)
    with pytest.raises(ModelConfigError, match="width 4"):
        _initialise(build_model(config.model), config)


def test_init_from_a_model_that_saw_the_validation_cases_is_flagged(tmp_path, caplog):
    config = preset_config("quick")
    config.model = ModelConfig(variant="omnet-cga", width=4)
    source = build_model(config.model)
    path = tmp_path / "seen.safetensors"
    save_model(source, ModelCard(name="seen", model=source.config,
                                 training={"data": {"train_cases": ["a", "b", "c"]}}), path)
    config.optim.init_from = str(path)
    record = _initialise(build_model(config.model), config)
    assert _note_seen_validation(record, ["x", "y"]) == record
    assert "validation Dice" not in caplog.text
    flagged = _note_seen_validation(record, ["c", "x", "b"])
    assert flagged["validation_cases_seen"] == ["b", "c"]
    assert "trained on 2 of this run's 3 validation cases (b, c)" in caplog.text


def test_init_from_an_ensemble_fine_tunes_its_first_member(tmp_path):
    config = preset_config("quick")
    config.model = ModelConfig(variant="omnet-cga", width=4)
    torch.manual_seed(2)
    pair = build_model(ModelConfig(variant="omnet-cga", width=4, members=2))
    path = tmp_path / "pair.safetensors"
    save_model(pair, ModelCard(name="pair", model=pair.config), path)
    config.optim.init_from = str(path)
    model = build_model(config.model)
    _initialise(model, config)
    for key, value in pair.members[0].state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    assert not torch.equal(model.state_dict()["head1.classifier.weight"],
                           pair.members[1].state_dict()["head1.classifier.weight"])


def test_recalibration_changes_statistics_but_not_the_training_batches(tiny_config, tmp_path):
    config = tiny_config(run={"bn_recalibration": 2}, schedule={"stage_lengths": [0, 0, 4]})

    def trainer() -> Trainer:
        torch.manual_seed(0)
        model = build_model(config.model)
        return Trainer(config, make_plan(config, 1), model, [memory_case("a", 1)], device=CPU,
                       precision=Precision(None, False), checkpoint_dir=tmp_path)

    plain, calibrated = trainer(), trainer()
    before = calibrated.model.backbone.state_dict()
    means = {k: v.clone() for k, v in before.items() if k.endswith("running_mean")}
    calibrated.recalibrate()
    after = calibrated.model.backbone.state_dict()
    assert any(not torch.equal(after[k], v) for k, v in means.items())
    assert plain.train_step(0).loss == calibrated.train_step(0).loss
