"""glibc's malloc told to keep the memory the numpy path frees, instead of handing it back.

Kokoro's numpy vocoder makes and drops arrays of 5 to 30 MB by the hundred per
sentence. glibc serves blocks that big with a fresh mmap each time (its threshold
adapts only up to 32 MB, and trims the heap as soon as 128 KB lie free at its top),
so every one is zero-filled again page by page: 40,000 to 67,000 page faults per
sentence, measured, and about a tenth of the sentence's time. With the thresholds
below, a process's second sentence makes ~500 page faults and its first makes half
as many as before.

What it costs: memory freed after a sentence stays in the process (up to the trim
threshold) for the next one, rather than going back to the system; peak memory is
unchanged. Linux with glibc only (``mallopt``); elsewhere, or when it fails,
nothing changes.

Every thread also allocates from glibc's one main heap (``M_ARENA_MAX`` 1), which
must be set before the MLX thread's first allocation (engine/thread.py sees to it).
A thread of its own gets an arena of 64 MB heaps, and Whisper's encoder, whose
temporaries are 9 MB blocks, left them too fragmented to reuse: the peak RSS climbed
window after window (445 -> 519 MB over 8 windows of tiny.en, measured; flat at
444-453 MB in the main heap). The work runs on one thread, so there is no
contention to lose.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024 * 1024  # blocks up to this come from the heap, and are reused
TRIM_THRESHOLD = 512 * 1024 * 1024  # the free memory kept at the heap's top

_done: list = []


def keep_freed_memory() -> bool:
    """Set glibc's thresholds once per process; True if they are set."""
    if _done:
        return _done[0]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
            mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            mallopt.restype = ctypes.c_int
            ok = (
                bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
                and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
                and bool(mallopt(_M_ARENA_MAX, 1))
            )
        except (OSError, AttributeError):  # not glibc (musl has no mallopt)
            ok = False
    _done.append(ok)
    return ok


def release_freed_memory() -> bool:
    """Hand the pages of freed blocks back to the system now (glibc's malloc_trim).

    With the thresholds above nothing freed goes back by itself, which is right for
    Kokoro's sentence after sentence, but a long transcription frees a different mix
    each stage: the encoder's scratch (~130 MB for Whisper tiny, a window at a time),
    then a batch's decoder caches (~18 MB a window). Blocks freed by one stage that do
    not fit the next one's stay resident while the heap grows around them, so the
    peak RSS rose batch after batch (593 -> 685 MB over a 24-minute recording at batch
    8, measured). Called between those stages it keeps the peak at what is live; the
    pages it returns cost a page fault each when used again (some 70,000 a batch of 8
    for tiny; their time is in benchmarks/bench_long.py's totals). Linux with glibc
    only; elsewhere nothing happens (False).
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


_trim: list = []


def _malloc_trim():
    if not _trim:
        function = None
        if sys.platform.startswith("linux"):
            try:
                function = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
                function.argtypes = [ctypes.c_size_t]
                function.restype = ctypes.c_int
            except (OSError, AttributeError):  # not glibc
                function = None
        _trim.append(function)
    return _trim[0]
