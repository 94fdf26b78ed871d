"""Denormal floats are flushed to zero inside network passes only (they made one HD-BET pass
over a raw series 40 times slower; the timing is in the README, not a test), and the rest of
the process keeps IEEE arithmetic (scipy's KD-tree crashed under the flushed mode)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent("""
    import numpy as np
    import torch
    torch.set_num_threads(2)
    from omnet.inference.device import FLUSHES_DENORMALS, flush_denormals

    def survivors():
        tiny = torch.full((1 << 18,), 1e-39, dtype=torch.float32)   # denormal float32
        return int(torch.count_nonzero(tiny * 1.5))

    before = survivors()
    with flush_denormals():
        inside = survivors()
    after = survivors()
    np.finfo(np.float32), np.finfo(np.float64)   # numpy warns if it meets them flushed first
    numpy_keeps = int(np.float32(1e-39) * np.float32(1.5) != 0)
    print(FLUSHES_DENORMALS, before, inside, after, numpy_keeps)
""")


def test_denormals_are_flushed_inside_network_passes_only():
    out = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", CHECK],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "True", "this CPU cannot flush denormals"
    before, inside, after, numpy_keeps = (int(v) for v in out[1:])
    assert inside == 0
    # outside, the calling thread keeps them (torch's worker threads stay flushed)
    assert before > 0 and after > 0
    assert numpy_keeps == 1
