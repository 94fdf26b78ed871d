"""Parameter counts against the authors' release and Table I of the paper.

The expected numbers are derived here by hand from the layer list of the Caffe release
(OM_Net_deploy.prototxt): 3x3x3 convs with bias everywhere, 2x2x2 transposed convs, 1x1x1
classifiers. Table I of the paper matches these counts when the first convolution is counted
with one input channel; MC2 and MC3 are printed as 2x and 3x the rounded MC1 figure.
"""

from __future__ import annotations

import pytest

from omnet.model import build_model, count_conv_parameters
from omnet.registry import VARIANTS


def conv(cin: int, cout: int, k: int = 3) -> int:
    return k**3 * cin * cout + cout


def release_backbone(cin: int) -> int:
    encoders = (conv(cin, 32) + 4 * conv(32, 32) + conv(32, 64) + 4 * conv(64, 64)
                + conv(64, 128) + 4 * conv(128, 128) + conv(128, 256) + 4 * conv(256, 256))
    decoders = (conv(256, 128, 2) + 5 * conv(128, 128) + conv(128, 64, 2) + 5 * conv(64, 64)
                + conv(64, 32, 2) + 4 * conv(32, 32))
    return encoders + decoders


def head(classes: int) -> int:
    return conv(32, 32) + conv(32, classes, 1)


def cga(classes: int) -> int:
    return 2 * conv(32, classes, 1) + conv(classes, classes, 1)


def se_block(channels: int = 32, reduction: int = 8) -> int:
    hidden = channels // reduction
    return conv(channels, hidden, 1) + conv(hidden, channels, 1)


def expected(variant: str, cin: int = 4) -> int:
    b = release_backbone(cin)
    return {
        "mc1": b + head(5),
        "mc2": 2 * b + 2 * head(5),
        "mc3": 3 * b + 2 * head(5) + head(2),
        "omnet": b + 2 * head(5) + head(2),
        "omnet-se": b + 2 * head(5) + head(2) + 3 * se_block(),
        "omnet-cga": b + head(5) + cga(5) + cga(2),
        "omnet-cga-minus": b + head(5) + cga(5) + cga(2),
        "omnet-cga-t": b + head(5) + cga(5) + cga(2) - conv(32, 5, 1) - conv(32, 2, 1),
        "omnet-cga-n": b + head(5) + cga(5) + cga(2) - conv(32, 5, 1) - conv(32, 2, 1),
    }[variant]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_counts_match_the_release_layer_list(variant: str) -> None:
    assert count_conv_parameters(build_model(variant)) == expected(variant)


def test_cga_modules_add_what_the_architecture_notes_say() -> None:
    assert cga(5) == 360 and cga(2) == 138
    base = count_conv_parameters(build_model("mc1"))
    assert count_conv_parameters(build_model("omnet-cga")) - base == 360 + 138


@pytest.mark.parametrize("variant", ["mc1", "omnet", "omnet-se"])
def test_table_one_with_a_single_channel_first_layer(variant: str) -> None:
    paper = VARIANTS[variant].paper_parameters_m
    count = count_conv_parameters(build_model(variant, in_channels=1))
    assert abs(count / 1e6 - paper) <= 0.001


@pytest.mark.parametrize("variant,networks", [("mc2", 2), ("mc3", 3)])
def test_table_one_cascades_are_multiples_of_mc1(variant: str, networks: int) -> None:
    paper = VARIANTS[variant].paper_parameters_m
    assert paper == pytest.approx(networks * VARIANTS["mc1"].paper_parameters_m, abs=1e-9)
    per_network = count_conv_parameters(build_model(variant, in_channels=1)) / networks
    assert abs(per_network / 1e6 - VARIANTS["mc1"].paper_parameters_m) <= 0.001


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_four_input_sequences_add_three_channels_to_the_first_conv(variant: str) -> None:
    networks = VARIANTS[variant].cascade_networks or 1
    four = count_conv_parameters(build_model(variant))
    one = count_conv_parameters(build_model(variant, in_channels=1))
    assert four - one == networks * 3 * 27 * 32
