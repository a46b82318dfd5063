"""glibc keeps the blocks the numpy path frees (patches/allocator.py)."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.cpu_path

PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from llm_mlx_audio.engine.patches import allocator
    assert allocator.keep_freed_memory() and allocator.keep_freed_memory()
def sentence():
    for _ in range(40):  # arrays of ~11 MB made and dropped, as the vocoder does
        a = np.ones((22000, 128), np.float32)
        b = a * 2.0
        del a, b
sentence()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
sentence()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode):
    result = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    """The minor page faults of a second "sentence" in a fresh process, without and with."""
    stock, kept = _page_faults("stock"), _page_faults("keep")
    assert stock > 10_000  # each 11-MB array mapped and zero-filled afresh
    assert kept < stock / 20
