"""Command lines of the ``omnet`` child processes, built from the module's options."""

from __future__ import annotations

import os

import pytest
from OMNetSegmentationLib.command import (
    SegmentOptions,
    child_environment,
    cli_device,
    omnet_search_path,
    python_command,
    segment_command,
)

from omnet.cli import build_parser

INPUTS = {"flair": "/tmp/in/flair.nrrd", "t1": "/tmp/in/t1.nrrd",
          "t1ce": "/tmp/in/t1ce.nrrd", "t2": "/tmp/in/t2.nrrd"}


def option_value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_default_options_give_the_contract_command():
    argv = segment_command(["PythonSlicer"], INPUTS, "/tmp/out/seg.nii.gz", SegmentOptions())
    assert argv[:4] == ["PythonSlicer", "-m", "omnet", "segment"]
    for role, path in INPUTS.items():
        assert option_value(argv, f"--{role}") == path
    assert option_value(argv, "-o") == "/tmp/out/seg.nii.gz"
    assert option_value(argv, "--device") == "auto"
    assert option_value(argv, "--mode") == "fast"
    assert option_value(argv, "--progress-format") == "lines"
    # labels 1, 2, 3 are the segment order (necrotic, edema, enhancing)
    assert option_value(argv, "--labels") == "brats2023"
    for absent in ("--model", "--no-postprocess", "--attention", "--report"):
        assert absent not in argv


def test_every_option_reaches_the_command_line():
    options = SegmentOptions(model="/m/my model.safetensors", device="CPU", mode="exact",
                             postprocess=False, attention=True)
    argv = segment_command(["py"], INPUTS, "out.nii.gz", options, attention_dir="/a",
                           report="/r.json")
    assert option_value(argv, "--model") == "/m/my model.safetensors"
    assert option_value(argv, "--device") == "cpu"
    assert option_value(argv, "--mode") == "exact"
    assert "--no-postprocess" in argv
    assert option_value(argv, "--attention") == "/a"
    assert option_value(argv, "--report") == "/r.json"


def test_the_command_parses_with_the_real_omnet_parser():
    options = SegmentOptions(model="/m.safetensors", device="GPU", mode="exact",
                             postprocess=False, attention=True)
    argv = segment_command(["py"], INPUTS, "o.nii.gz", options, attention_dir="/a",
                           report="/r.json")
    args = build_parser().parse_args(argv[3:])
    assert args.command == "segment"


def test_missing_role_and_bad_choices_are_refused():
    with pytest.raises(ValueError, match="t1ce"):
        segment_command(["py"], {**INPUTS, "t1ce": ""}, "o.nii.gz", SegmentOptions())
    with pytest.raises(ValueError, match="device"):
        SegmentOptions(device="cuda")
    with pytest.raises(ValueError, match="mode"):
        SegmentOptions(mode="slow")
    with pytest.raises(ValueError, match="folder"):
        segment_command(["py"], INPUTS, "o", SegmentOptions(attention=True))


def test_device_mapping():
    assert cli_device("auto") == "auto"
    assert cli_device("CPU") == "cpu"
    assert cli_device("GPU", system="linux", machine="x86_64") == "cuda"
    assert cli_device("GPU", system="win32", machine="AMD64") == "cuda"
    assert cli_device("GPU", system="darwin", machine="arm64") == "mps"
    assert cli_device("GPU", system="darwin", machine="x86_64") == "cuda"


def test_python_command_follows_slicer_rules():
    on_path = python_command(True, which=lambda name: f"/opt/Slicer/bin/{name}",
                             executable="/opt/Slicer/bin/python-real")
    assert on_path == ["/opt/Slicer/bin/PythonSlicer"]
    beside = python_command(True, which=lambda name: None, executable="C:/S/bin/python-real.exe",
                            os_name="nt", exists=lambda path: path.endswith("PythonSlicer.exe"))
    assert beside == [os.path.join("C:/S/bin", "PythonSlicer.exe")]
    fallback = python_command(True, which=lambda name: None, executable="/x/python",
                              exists=lambda path: False)
    assert fallback == ["/x/python"]
    assert python_command(False, which=lambda name: "/never", executable="/venv/python") \
        == ["/venv/python"]


def test_child_environment_makes_omnet_importable_and_keeps_the_rest():
    env = child_environment({"PATH": "/bin", "PYTHONPATH": "/old"}, "/ext/qt-scripted-modules")
    assert env["PYTHONPATH"].split(os.pathsep) == ["/ext/qt-scripted-modules", "/old"]
    assert env["PATH"] == "/bin"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONIOENCODING"] == "utf-8"
    assert (omnet_search_path() / "omnet" / "__init__.py").is_file()


def test_preparation_options_reach_the_command_line():
    argv = segment_command(["py"], INPUTS, "o.nii.gz", SegmentOptions())
    assert option_value(argv, "--skull-strip") == "auto"  # right for raw scans
    assert option_value(argv, "--register") == "auto"
    assert "--bias-correction" not in argv
    assert build_parser().parse_args(argv[3:]).match_resolution == "auto"
    # a thick T1c's segments on the network's 1 mm grid (the command line's default: the T1c's)
    assert build_parser().parse_args(argv[3:]).output_grid == "auto"
    options = SegmentOptions(skull_strip="off", register="on", bias_correction=True,
                             match_resolution=False, output_grid="reference")
    argv = segment_command(["py"], INPUTS, "o.nii.gz", options)
    args = build_parser().parse_args(argv[3:])
    assert (args.skull_strip, args.register, args.bias_correction,
            args.match_resolution, args.output_grid) == ("off", "on", True, "off", "reference")
    with pytest.raises(ValueError, match="output_grid"):
        SegmentOptions(output_grid="atlas")
    with pytest.raises(ValueError, match="skull_strip"):
        SegmentOptions(skull_strip="maybe")
