"""The segment table: labels, names, colours, terminology codes, and the volume table."""

from __future__ import annotations

import itertools
import json
import struct

import numpy as np
import pytest
from OMNetSegmentationLib.models import (
    MAX_TRAINED_MODELS,
    add_trained_model,
    describe_card,
    model_choices,
    parse_trained_models,
    serialize_trained_models,
)
from OMNetSegmentationLib.segments import (
    SEGMENTS,
    match_segments,
    region_volumes_ml,
    terminology_entry,
    volume_rows,
)

from omnet.card import CARD_KEY, ModelCard
from omnet.labels import BRATS2023
from omnet.measurement.volumes import region_volumes_ml as omnet_volumes
from omnet.registry import ModelConfig

# Codes from Slicer's terminology lists (SegmentationCategoryTypeModifier-*.json) and DICOM
EXPECTED_TYPES = {"necrotic": ("6574001", "Necrosis"), "edema": ("79654002", "Edema"),
                  "enhancing": ("108369006", "Neoplasm")}


def test_label_values_are_the_brats2023_values_the_child_writes():
    by_key = {spec.key: spec.label for spec in SEGMENTS}
    assert by_key == {"necrotic": BRATS2023.necrotic, "edema": BRATS2023.edema,
                      "enhancing": BRATS2023.enhancing}
    # ImportLabelmapToSegmentationNode maps label n to the n-th segment ID
    assert [spec.label for spec in SEGMENTS] == [1, 2, 3]


def test_names_unique_and_colours_valid_and_distinct():
    assert len({spec.name for spec in SEGMENTS}) == 3
    for spec in SEGMENTS:
        assert len(spec.color) == 3 and all(0.0 <= c <= 1.0 for c in spec.color)
    for a, b in itertools.combinations(SEGMENTS, 2):
        distance = sum((x - y) ** 2 for x, y in zip(a.color, b.color)) ** 0.5
        assert distance > 0.3, (a.key, b.key)


@pytest.mark.parametrize("spec", SEGMENTS, ids=lambda s: s.key)
def test_terminology_entries_carry_standard_codes(spec):
    fields = terminology_entry(spec).split("~")
    assert len(fields) == 7
    assert fields[0].startswith("Segmentation category and type")
    assert fields[1] == "SCT^49755003^Morphologically Altered Structure"
    value, meaning = EXPECTED_TYPES[spec.key]
    assert fields[2] == f"SCT^{value}^{meaning}"
    assert fields[3] == "^^" and fields[6] == "^^"
    assert fields[4].startswith("Anatomic codes")
    assert fields[5] == "SCT^12738006^Brain"


def test_region_volumes_and_rows():
    volumes = region_volumes_ml({1: 1000, 2: 3000, 3: 500, 0: 99999}, voxel_volume_mm3=2.0)
    assert volumes == pytest.approx({"whole": 9.0, "core": 3.0, "enhancing_tumour": 1.0})
    rows = volume_rows({"whole": 9.0, "core": 3.04, "enhancing_tumour": 1.0, "edema": 6.0})
    assert rows == [("Whole tumour", "9.0 mL"), ("Tumour core", "3.0 mL"),
                    ("Enhancing tumour", "1.0 mL")]
    assert volume_rows({})[0] == ("Whole tumour", "-")


@pytest.mark.parametrize("spacing", [(0.9375, 0.9375, 1.2), (0.7, 0.7, 3.3), (1.0, 1.0, 1.0)])
def test_region_volumes_equal_omnets_for_the_same_label_map(spacing):
    """The panel's volumes (from Slicer's voxel counts) and the child's RESULT (from the
    label array) are one computation: equal to the last bit, not just close (the panel
    summed per-label millilitres where omnet multiplied the summed counts)."""
    labels = np.random.default_rng(7).choice(
        np.array([0, *BRATS2023.values], dtype=np.uint8), size=(23, 29, 31), p=[0.4, 0.2, 0.3, 0.1])
    values, counts = np.unique(labels, return_counts=True)
    voxels = {int(value): int(count) for value, count in zip(values, counts)}
    ours = region_volumes_ml(voxels, spacing[0] * spacing[1] * spacing[2])
    omnets = omnet_volumes(labels, BRATS2023, spacing)
    assert ours == {"whole": omnets["whole"], "core": omnets["core"],
                    "enhancing_tumour": omnets["enhancing"]}
    assert ours["whole"] > ours["core"] > ours["enhancing_tumour"] > 0


def write_model(path, name: str) -> None:
    """A header-only safetensors file with an OMNet card (no tensors needed to read it)."""
    card = ModelCard(name=name, model=ModelConfig(width=8), metrics={"dice": {"whole": 0.9}})
    header = json.dumps({"__metadata__": {CARD_KEY: card.to_json()}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header)


def test_model_choices_list_default_bundled_trained_and_files(tmp_path):
    bundled_path = tmp_path / "bundled.safetensors"
    write_model(bundled_path, "omnet-cga-w32")
    trained = tmp_path / "run" / "model.safetensors"
    trained.parent.mkdir()
    write_model(trained, "my-run")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"PK\x03\x04 not a model")
    bundled = [(bundled_path, ModelCard(name="omnet-cga-w32", model=ModelConfig()))]
    choices = model_choices(bundled, [str(trained), str(broken), str(tmp_path / "gone.st")],
                            files=[str(bundled_path)])
    assert [c.source for c in choices] == ["default", "bundled", "trained"]
    assert choices[0].path == ""
    assert choices[2].title.startswith("my-run") and choices[2].path == str(trained)
    assert "whole 0.90" in choices[2].description


def test_model_tooltips_say_when_a_model_is_an_ensemble():
    single = describe_card(ModelCard(name="a", model=ModelConfig(width=16)))
    pair = describe_card(ModelCard(name="b", model=ModelConfig(width=16, members=2)))
    assert single.startswith("omnet-cga, width 16") and "ensemble" not in single
    assert pair.startswith("omnet-cga, width 16, ensemble of 2")
    trio = describe_card(ModelCard(name="c", model=ModelConfig(
        width=16, members=3, member_inputs=("any", "ordinary", "thick"))))
    assert trio.startswith("omnet-cga, width 16, ensemble of 2 (+1 for four thick-slice series)")


def test_model_tooltips_give_the_figures_of_cases_the_networks_never_saw():
    def card(**metrics):
        return ModelCard(name="m", model=ModelConfig(width=16), metrics=metrics)

    mean = {"postprocessed": {"mean": {"enhancing": {"dice": 0.73},
                                       "whole": {"dice": 0.912, "hd95": 4.6}}}}
    assert "held-out Dice whole 0.91, enhancing 0.73" in describe_card(card(heldout=mean))
    assert "held-out (recipe twin) Dice whole 0.91" in describe_card(card(recipe_heldout=mean))
    assert "Dice" not in describe_card(card(training_validation={}))


def test_trained_model_registry(tmp_path):
    assert parse_trained_models(None) == []
    assert parse_trained_models("not json") == []
    assert parse_trained_models('{"a": 1}') == []
    first = add_trained_model([], tmp_path / "a.safetensors")
    b = tmp_path / "b.safetensors"
    again = add_trained_model([*first, str(b)], b)
    assert again == [str((tmp_path / "b.safetensors").resolve()),
                     str((tmp_path / "a.safetensors").resolve())]
    assert parse_trained_models(serialize_trained_models(again)) == again
    many = []
    for i in range(MAX_TRAINED_MODELS + 5):
        many = add_trained_model(many, tmp_path / f"m{i}.safetensors")
    assert len(many) == MAX_TRAINED_MODELS
    assert many[0].endswith(f"m{MAX_TRAINED_MODELS + 4}.safetensors")


def test_a_tag_says_which_segment_is_omnets_before_a_name_does():
    necrotic, edema, enhancing = (spec.name for spec in SEGMENTS)
    found = match_segments([("a", "", necrotic), ("b", "necrotic", "renamed core"),
                            ("c", "", edema), ("d", "edema", edema), ("e", "", "Tumor")])
    assert found == {"necrotic": "b", "edema": "d"}  # untagged namesakes stay the user's
    assert match_segments([("x", "", enhancing), ("y", "", enhancing)]) == {"enhancing": "x"}
