"""Element-wise maths that MLX-CPU computes slowly, done another way.

MLX's CPU back-end evaluates transcendental functions one scalar at a time on x86:
``mx.exp`` over the 13.5M scores of one Whisper-tiny attention layer takes ~145 ms,
numpy's vectorised exp ~7 ms; ``nn.gelu`` (erf) over one MLP activation ~50 ms.
Plain arithmetic is fast, especially fused by ``mx.compile``. So:

* ``gelu`` is the exact erf GELU with erf as a rational polynomial (Eigen's float
  approximation, max error ~1e-6), compiled: plain arithmetic only, ~8x faster;
* ``softmax_numpy`` computes a softmax in place in numpy, for the big attention
  matrices, whose exp is the cost;
* ``set_numpy_blas_threads`` sets numpy's own OpenBLAS thread count at run time.

``gelu`` takes and returns MLX arrays; it is compiled on first use, on the MLX thread
that calls it. The numpy paths use the same erf coefficients (``ERF_P``, ``ERF_Q``).
"""

from __future__ import annotations

_compiled: dict = {}

# erf(x) ~ x * P(x^2) / Q(x^2) on [-4, 4]; erf is +-1 to float precision beyond.
ERF_P = (
    -2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
    -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
    -1.60960333262415e-02,
)  # fmt: skip
ERF_Q = (
    -1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
    -7.37332916720468e-03, -1.42647390514189e-02,
)  # fmt: skip


def _erf(x):
    import mlx.core as mx

    x = mx.clip(x, -4.0, 4.0)
    x2 = x * x
    p = ERF_P[0]
    for c in ERF_P[1:]:
        p = p * x2 + c
    q = ERF_Q[0]
    for c in ERF_Q[1:]:
        q = q * x2 + c
    return x * p / q


def _gelu(x):
    return x * (1.0 + _erf(x * 0.7071067811865476)) * 0.5


def _compiled_function(name, function):
    compiled = _compiled.get(name)
    if compiled is None:
        import mlx.core as mx

        compiled = _compiled[name] = mx.compile(function)
    return compiled


def gelu(x):
    """Exact (erf) GELU, as ``mlx.nn.gelu``, without MLX-CPU's scalar erf."""
    return _compiled_function("gelu", _gelu)(x)


def softmax_numpy(scores, axis=-1):
    """Softmax of a numpy float32 array, in place; returns the same array."""
    import numpy as np

    scores -= scores.max(axis=axis, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=axis, keepdims=True)
    return scores


# -- scipy's sgemm, without scipy.linalg ----------------------------------------------

_sgemm: list = []


def sgemm():
    """scipy's Fortran ``sgemm`` (the one that accumulates into its output in place).

    ``import scipy.linalg.blas`` runs scipy.linalg's ``__init__``, which imports its
    array-API layer and numpy.f2py: ~0.12 s of every cold `llm speak` (measured), for
    one function of the compiled ``_fblas`` module it then loads. So that module is
    loaded directly from its file (4 ms), under its own name, so a later import of
    scipy.linalg finds and reuses it. Where that fails, the ordinary import.
    """
    if not _sgemm:
        _sgemm.append(_load_fblas().sgemm)
    return _sgemm[0]


def _load_fblas():
    import importlib.machinery
    import importlib.util
    import os
    import sys

    name = "scipy.linalg._fblas"
    if name in sys.modules or "scipy.linalg" in sys.modules:
        from scipy.linalg import blas

        return blas
    try:
        import scipy

        folder = os.path.join(os.path.dirname(scipy.__file__), "linalg")
        spec = importlib.machinery.PathFinder.find_spec("_fblas", [folder])
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            raise ImportError("no compiled _fblas module")
        spec = importlib.util.spec_from_file_location(name, spec.origin)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.sgemm  # noqa: B018 (the function this is for)
        sys.modules[name] = module
        return module
    except (ImportError, AttributeError, OSError):
        from scipy.linalg import blas

        return blas


# -- numpy's own BLAS threads -------------------------------------------------------

_numpy_blas: dict = {}


def set_numpy_blas_threads(count: int) -> int | None:
    """Set the thread count of numpy's bundled OpenBLAS; return the old one (None: unknown).

    Small matrix-vector products (a decoder step: 384 x 1536) finish before a second
    BLAS thread wakes up: multi-threaded, each waits ~50 us for it, ~3x their cost.
    numpy's wheels bundle a renamed OpenBLAS (``scipy_openblas_*``) that the usual
    environment variables only set at start-up; this finds its setter once. Other
    numpy builds (MKL, Accelerate) are left alone.
    """
    functions = _numpy_blas_functions()
    if functions is None:
        return None
    getter, setter = functions
    previous = getter()
    if previous != count:
        setter(count)
    return previous


def _numpy_blas_functions():
    if "functions" in _numpy_blas:
        return _numpy_blas["functions"]
    import ctypes
    import glob
    import os

    import numpy

    found = None
    folder = os.path.join(os.path.dirname(os.path.dirname(numpy.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "*openblas*.so*"))):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (
            ("scipy_openblas", "64_"),
            ("scipy_openblas", ""),
            ("openblas", "64_"),
            ("openblas", ""),
        ):
            getter = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
            setter = getattr(library, f"{prefix}_set_num_threads{suffix}", None)
            if getter is not None and setter is not None:
                getter.restype = ctypes.c_int
                setter.argtypes = [ctypes.c_int]
                found = (getter, setter)
                break
        if found:
            break
    _numpy_blas["functions"] = found
    return found


def cached_on(module, key, build):
    """``build()``'s result, kept on an MLX module until ``key`` (one of its arrays) changes.

    The numpy paths re-lay weights once per module. The result lives in the instance
    ``__dict__``, outside the module's parameter tree (an MLX module is a dict of its
    parameters), and is made again when the weights are replaced (``update`` puts new
    array objects in, so ``key`` is compared by identity).
    """
    cached = module.__dict__.get("_llm_mlx_audio_numpy")
    if cached is None or cached[0] is not key:
        cached = module.__dict__["_llm_mlx_audio_numpy"] = (key, build())
    return cached[1]


def keep_on(module, key, value) -> None:
    """Put an already built ``cached_on`` result on a module (kernels read back from disk)."""
    module.__dict__["_llm_mlx_audio_numpy"] = (key, value)
