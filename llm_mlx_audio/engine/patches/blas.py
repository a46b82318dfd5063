"""An optimised BLAS under MLX on Linux, loaded before MLX binds the wheel's one.

The mlx-cpu wheel links the netlib *reference* BLAS, so every fp32 matmul is ~30x
slower than with OpenBLAS. MLX binds its BLAS symbols when ``mlx.core`` is imported,
so an OpenBLAS loaded with RTLD_GLOBAL *before* that import takes over.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys
from collections.abc import Iterator

from .switch import blas_enabled

# A BLAS library to preload instead of searching for OpenBLAS; "none" keeps the wheel's own.
ENV_BLAS = "LLM_MLX_AUDIO_BLAS"
_state = {"prepared": False, "blas": None}


def prepare_mlx() -> str | None:
    """Preload an optimised BLAS so that MLX binds to it; return its path, or None.

    Must run before the first ``import mlx.core`` in the process: once MLX has bound
    the reference BLAS, loading another one changes nothing (measured), so then this
    returns None. An OpenBLAS already in the global symbol scope (LD_PRELOAD) is
    reported and nothing else is loaded. Idempotent.
    """
    if _state["prepared"]:
        return _state["blas"]
    if not blas_enabled() or "mlx.core" in sys.modules:
        return None
    if os.environ.get(ENV_BLAS, "").strip().lower() in ("none", "reference"):
        _state["prepared"] = True
        return None  # asked for the wheel's own BLAS (benchmarks, the slow-path notice)
    _state["prepared"] = True  # searched once per process, found or not
    path = global_blas()
    if path is None:
        path = _load_first_blas(_blas_candidates())
    _state["blas"] = path
    return path


def _blas_candidates() -> Iterator[str]:
    """Optimised BLAS libraries in preference order (multi-threaded OpenBLAS first).

    A bare libblas.so.3 is only trusted inside an openblas-* folder: elsewhere it may
    be the same reference BLAS that the wheel already carries.
    """
    explicit = os.environ.get(ENV_BLAS)
    if explicit:
        yield explicit
    triplet = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}.get(
        platform.machine(), platform.machine() + "-linux-gnu"
    )
    for folder in (f"/usr/lib/{triplet}", "/usr/lib64", "/usr/lib"):
        for flavour in ("openblas-pthread", "openblas-openmp", "openblas-serial"):
            yield f"{folder}/{flavour}/libopenblas.so.0"
            yield f"{folder}/{flavour}/libblas.so.3"
        yield f"{folder}/libopenblasp.so.0"  # Fedora's pthreads build
        yield f"{folder}/libopenblas.so.0"
    found = ctypes.util.find_library("openblas")
    if found:
        yield found


def _load_first_blas(paths) -> str | None:
    for path in paths:
        if os.sep in path and not os.path.exists(path):
            continue
        try:
            library = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        # A library without CBLAS cannot serve MLX (and cannot be unloaded: harmless).
        if hasattr(library, "cblas_sgemm"):
            return path
    return None


class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def global_blas() -> str | None:
    """The file that provides cblas_sgemm in the process's global scope, if any.

    That is where MLX's symbol lookup goes first. Libraries that merely sit in memory
    (numpy's bundled OpenBLAS renames its symbols) do not count.
    """
    try:
        process = ctypes.CDLL(None)
        function = process.cblas_sgemm
        dladdr = process.dladdr
    except (OSError, AttributeError):
        return None
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    info = _DlInfo()
    if not dladdr(ctypes.cast(function, ctypes.c_void_p), ctypes.byref(info)):
        return None
    return os.fsdecode(info.dli_fname) if info.dli_fname else None


def searched() -> bool:
    """Whether this process looked for a BLAS before MLX loaded (False when MLX came first)."""
    return _state["prepared"]


def preloaded() -> str | None:
    """The BLAS this process preloaded, if any."""
    return _state["blas"]
