"""Memory behaviour of inference: skips freed as soon as the decoder has added them, and
freed feature maps kept in the heap (glibc) during a run, glibc's defaults back after."""

from __future__ import annotations

import sys
import weakref

import numpy as np
import pytest
import torch

from omnet.inference import heap, predict
from omnet.inference.heap import retained_heap, worth_retaining
from omnet.inference.model_source import resolve_model
from omnet.inference.optimize import inference_copy
from omnet.model import build_model

CPU = torch.device("cpu")


def _skip_alive_after_its_sum(model: torch.nn.Module) -> bool:
    """Whether the full-resolution skip (encoder level 0's output) is still alive when the
    last decoder level runs its first layer, i.e. after the skip has been added."""
    backbone = model.backbone
    seen: dict[str, object] = {}

    def grab(module, args, output):
        seen["skip"] = weakref.ref(output)

    def check(module, args):
        seen["alive"] = seen["skip"]() is not None

    backbone.encoders[0].register_forward_hook(grab)
    backbone.decoders[-1].body[0].register_forward_pre_hook(check)
    with torch.no_grad():
        model(torch.randn(1, 4, 16, 32, 32))
    return bool(seen["alive"])


def test_inference_copy_frees_each_skip_once_added():
    model = build_model("omnet-cga", width=4).eval()
    assert _skip_alive_after_its_sum(model)  # the training module keeps it for backward
    assert not _skip_alive_after_its_sum(inference_copy(model, CPU, channels_last=False))


class _FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, parameter: int, value: int) -> int:
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad))
        return 1


def test_retained_heap_restores_glibc_defaults_after_the_outermost_use(monkeypatch):
    fake = _FakeLibc()
    monkeypatch.setattr(heap, "_LIBC", fake)
    with retained_heap(), retained_heap():
        assert fake.calls == [("mallopt", heap._M_MMAP_MAX, 0),
                              ("mallopt", heap._M_TRIM_THRESHOLD, heap._KEEP_EVERYTHING)]
    assert fake.calls[2:] == [("mallopt", heap._M_MMAP_MAX, heap._DEFAULT_MMAP_MAX),
                              ("mallopt", heap._M_TRIM_THRESHOLD, heap._DEFAULT_TRIM_THRESHOLD),
                              ("malloc_trim", 0)]


def test_retained_heap_restores_defaults_when_the_run_fails(monkeypatch):
    fake = _FakeLibc()
    monkeypatch.setattr(heap, "_LIBC", fake)

    with pytest.raises(RuntimeError, match="network failed"), retained_heap():
        raise RuntimeError("network failed")
    assert fake.calls[-1] == ("malloc_trim", 0)
    assert heap._depth == 0


def test_retained_heap_does_nothing_without_glibc_or_when_disabled(monkeypatch):
    fake = _FakeLibc()
    monkeypatch.setattr(heap, "_LIBC", fake)
    with retained_heap(enabled=False) as active:
        assert not active
    monkeypatch.setattr(heap, "_LIBC", None)
    with retained_heap() as active:
        assert not active
    assert fake.calls == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc is Linux's")
def test_glibc_is_found_on_this_linux():
    # musl-based Linux would legitimately have none; CI and Slicer's Linux builds use glibc
    assert heap._LIBC is not None



def test_heap_is_retained_for_bf16_brains_and_exact_batches_not_float32_brains_or_gpus():
    brain, width = 136 * 184 * 144, 32  # a whole-brain tile at paper width
    exact_batch = 64 * 16 * 32 * 32
    assert worth_retaining("cpu", brain * width * 2)  # bf16: 230 MB maps
    assert not worth_retaining("cpu", brain * width * 4)  # float32: 460 MB maps
    assert worth_retaining("cpu", exact_batch * width * 4)  # float32 exact batch: 134 MB
    assert not worth_retaining("cuda", exact_batch * width * 2)


@pytest.mark.parametrize(("limit", "retained"), [(2**40, True), (0, False)])
def test_predict_crop_retains_the_heap_as_worth_retaining_says(monkeypatch, limit, retained):
    fake = _FakeLibc()
    monkeypatch.setattr(heap, "_LIBC", fake)
    monkeypatch.setattr(heap, "RETAIN_MAX_MAP_BYTES", limit)
    volume = np.zeros((4, 16, 32, 32), dtype=np.float32)
    brain = np.zeros(volume.shape[1:], dtype=bool)
    brain[4:12, 8:24, 8:24] = True
    volume[:, brain] = 1.0
    model = resolve_model(build_model("omnet-cga", width=2), CPU)
    predict.predict_crop(volume, brain, model, CPU, "float32", predict.TilingSettings())
    assert (("mallopt", heap._M_MMAP_MAX, 0) in fake.calls) == retained
