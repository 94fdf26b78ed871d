"""The registry, the naming rules and the card reader never import torch."""

from __future__ import annotations

import subprocess
import sys

from omnet.registry import DEFAULT_VARIANT, VARIANTS, ModelConfig, get_variant

TORCH_FREE = ("omnet", "omnet.registry", "omnet.card", "omnet.bundled", "omnet.labels",
              "omnet.protocol", "omnet.data.naming", "omnet.data.discovery", "omnet.cli")


def test_torch_free_modules_do_not_import_torch() -> None:
    code = ("import sys\n" + "".join(f"import {m}\n" for m in TORCH_FREE)
            + "bad = [m for m in ('torch', 'SimpleITK') if m in sys.modules]\n"
            + "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_paper_variants_are_registered() -> None:
    expected = {"omnet-cga", "omnet", "omnet-se", "omnet-cga-minus", "omnet-cga-t",
                "omnet-cga-n", "mc1", "mc2", "mc3"}
    assert set(VARIANTS) == expected
    assert DEFAULT_VARIANT == "omnet-cga"
    assert [get_variant(f"mc{n}").cascade_networks for n in (1, 2, 3)] == [1, 2, 3]


def test_config_round_trips_through_a_dict() -> None:
    config = ModelConfig(variant="omnet-se", width=16, dropout=0.25)
    assert ModelConfig.from_dict(config.to_dict()) == config
