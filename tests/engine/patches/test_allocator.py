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


ARENAS = """
import ctypes, sys, tempfile, threading
import numpy as np
if sys.argv[1] == "keep":
    from llm_mlx_audio.engine.patches import allocator
    assert allocator.keep_freed_memory()
worker = threading.Thread(target=lambda: np.ones(1 << 20).sum())  # allocates, as the MLX thread does
worker.start()
worker.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.fclose.argtypes = [ctypes.c_void_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
with tempfile.NamedTemporaryFile(suffix=".xml") as report:
    stream = libc.fopen(report.name.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(open(report.name).read().count("<heap nr="))
"""


def _arenas(mode):
    result = subprocess.run([sys.executable, "-c", ARENAS, mode], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_threads_started_after_it_share_the_main_heap():
    """glibc's own report (malloc_info): a thread gets a heap of its own, unless told."""
    assert _arenas("stock") == 2
    assert _arenas("keep") == 1


TRIM = """
import sys, threading
import numpy as np
from llm_mlx_audio.engine.patches import allocator
assert allocator.keep_freed_memory()
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")) // 1024
def stage():  # the encoder's way: 9-MB temporaries made and dropped, a small result kept
    kept = []
    for _ in range(12):
        scratch = [np.ones(1500 * 1536, np.float32) for _ in range(3)]
        kept.append(np.ones(1000, np.float32))
        del scratch
    freed = rss()
    assert allocator.release_freed_memory()
    print(freed, rss())
worker = threading.Thread(target=stage)
worker.start()
worker.join()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_freed_blocks_go_back_to_the_system_when_asked():
    result = subprocess.run([sys.executable, "-c", TRIM], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    freed, released = map(int, result.stdout.split())
    assert freed - released > 20  # MiB: the freed scratch kept, until release_freed_memory
