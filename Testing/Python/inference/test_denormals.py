"""Denormal floats are flushed to zero once omnet's inference is imported (they made one
HD-BET pass over a raw series 40 times slower); the timing is in the README, not a test."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent("""
    import torch
    torch.set_num_threads(2)
    import omnet.inference.device as device
    tiny = torch.full((1 << 20,), 1e-39, dtype=torch.float32)   # a denormal float32
    product = tiny * 1.5                                           # split over both threads
    import numpy as np
    np.finfo(np.float32), np.finfo(np.float64)   # numpy warns if it meets them flushed first
    print(device.FLUSHES_DENORMALS, int(torch.count_nonzero(product)))
""")


def test_denormals_are_flushed_after_import():
    out = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", CHECK],
                         capture_output=True, text=True, check=True).stdout.split()
    supported, nonzero = out[0] == "True", int(out[1])
    assert supported, "this CPU cannot flush denormals"
    assert nonzero == 0


def test_without_the_import_denormals_survive():
    code = CHECK.replace("import omnet.inference.device as device", "device = None")
    code = code.replace("device.FLUSHES_DENORMALS", "True")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert int(out[1]) == 1 << 20
