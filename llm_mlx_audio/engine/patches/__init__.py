"""Everything that reaches into mlx-audio's internals, and the one way in: ``adapt``.

mlx-audio is built for Apple's GPU; on a Linux CPU, and offline, some of its models
crawl or cannot run at all. Each adaptation below is one module here, and each is
optional: if one fails (an upstream rename, an attribute gone), it is skipped with
one line on stderr and the model runs stock, slower but right.

| adaptation          | module              | what it changes                                       |
|---------------------|---------------------|-------------------------------------------------------|
| blas                | blas.py             | OpenBLAS under MLX instead of the reference BLAS      |
| dequantize          | dequantize.py       | quantized layers as floats (CPU matmuls, numpy paths) |
| allocator           | allocator.py        | glibc keeps freed blocks for reuse (fewer page faults)|
| lazy-packages       | lazy_packages.py    | skip mlx_audio's eager import of 18 STT families      |
| (always, no switch) | model_code.py       | transformers never imports a repo's own Python code   |
| whisper-tokenizer   | whisper_tokenizer.py| Whisper's tokenizer without transformers (load hook)  |
| kokoro-g2p          | kokoro_g2p.py       | Kokoro's English G2P without spaCy's downloader       |
| whisper-fp32        | whisper_fp32.py     | Whisper in fp32 (fp16 never reaches BLAS on a CPU)    |
| whisper-numpy       | whisper_numpy.py    | Whisper's encoder blocks and decoder steps in numpy   |
| vocoder-convs       | vocoder_convs.py    | Kokoro/kitten convs off MLX-CPU's naive loops         |
| kokoro-numpy        | kokoro_numpy.py     | Kokoro/kitten residual blocks and LSTMs in numpy      |
| stoppable-windows   | stoppable.py        | a dropped job's Whisper stops at its next step        |

The CPU ones stand aside on Metal, on any GPU and with ``LLM_MLX_AUDIO_CPU_FAST=0``
(``switch.py``). Instances are changed only by swapping their class (``swap.py``),
never by editing mlx-audio's classes, so a model loaded without them is stock. Only
stdlib is imported at module level; everything runs on the one MLX thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import sys
from pathlib import Path
from typing import Any

from ...errors import AudioError
from . import blas
from .switch import ENV_SWITCH, enabled, mlx_uses_gpu

__all__ = [
    "CHECKED_WITH",
    "Caches",
    "ENV_SWITCH",
    "PatchFailed",
    "adapt",
    "describe",
    "enabled",
    "loading",
    "prepare_mlx",
    "prepare_language",
]

# The releases these adaptations were written and tested against. A newer mlx-audio
# usually still works; where it does not, the adaptation is skipped, not fatal.
CHECKED_WITH = {"mlx-audio": "0.6.2", "mlx": "0.32.4"}

_counts = {
    "dequantize": 0,
    "whisper-fp32": 0,
    "whisper-numpy": 0,
    "vocoder-convs": 0,
    "kokoro-numpy": 0,
}
_warned: set = set()


class PatchFailed(Exception):
    """An adaptation raised while changing a model: load it again without that one."""

    def __init__(self, name: str, error: BaseException):
        super().__init__(f"{name}: {type(error).__name__}: {error}")
        self.name = name
        self.error = error


def skipped(name: str, error: BaseException) -> None:
    """One line on stderr, once per adaptation and process: what was skipped and why."""
    if name in _warned:
        return
    _warned.add(name)
    reason = (str(error).strip().splitlines() or [""])[0]
    sys.stderr.write(
        f"llm-mlx-audio: skipped the {name} adaptation ({type(error).__name__}: {reason}); "
        f"the model runs without it (checked with mlx-audio {CHECKED_WITH['mlx-audio']})\n"
    )


def prepare_mlx() -> str | None:
    """Process-wide adaptations, before the first ``import mlx.core``; the BLAS path or None."""
    from . import allocator, lazy_packages

    path = None
    if enabled():
        allocator.keep_freed_memory()
    try:
        path = blas.prepare_mlx()
    except Exception as error:  # noqa: BLE001 (optional by design)
        skipped("blas", error)
    try:
        # Both packages only list their model families; import just the one we load.
        lazy_packages.defer_init("mlx_audio.stt.models")
        lazy_packages.defer_init("mlx_audio.tts.models")
    except Exception as error:  # noqa: BLE001
        skipped("lazy-packages", error)
    return path


@contextlib.contextmanager
def loading(model_type: str, cache_dir: Path | None = None):
    """Around mlx-audio's ``load_model``: the hooks that must be in place during a load.

    ``cache_dir``: where Whisper tokenizers built from ``.tiktoken`` files may be kept.
    Model code is refused first (model_code.py): not optional, and never skipped; if it
    cannot be guarded, the load fails with an ImportError."""
    from . import model_code
    from .whisper_tokenizer import light_processor_for

    model_code.install()
    try:
        context = light_processor_for(model_type, cache_dir=cache_dir)
        context.__enter__()
    except Exception as error:  # noqa: BLE001
        skipped("whisper-tokenizer", error)
        yield
        return
    try:
        yield
    finally:
        context.__exit__(None, None, None)


@dataclasses.dataclass(frozen=True)
class Caches:
    """What adaptations may keep on disk between processes (None: keep nothing).

    ``kernels``: a kernel_store.Store for this model's re-laid numpy kernels;
    ``folder``: a folder for what does not depend on the model (misaki's dictionaries).
    """

    kernels: Any = None
    folder: Path | None = None


def adapt(model, kind: str, skip=(), caches: Caches | None = None) -> dict:
    """Adapt a freshly loaded model; return extra keyword arguments for its generate().

    Raises PatchFailed naming the adaptation that broke (the model may be half
    changed: load it again and pass that name in ``skip``). An AudioError (a missing
    package the user can install) is the user's to see and passes through.
    """
    if kind not in ("speech", "transcription", "vad", "speaker"):
        raise ValueError(f"kind must be 'speech', 'transcription', 'vad' or 'speaker', not {kind!r}")
    extra: dict = {}
    for name, applies, apply in _ADAPTATIONS:
        if name in skip or not applies(model, kind):
            continue
        try:
            extra.update(apply(model, caches or Caches()) or {})
        except AudioError:
            raise
        except Exception as error:  # noqa: BLE001
            raise PatchFailed(name, error) from error
    return extra


# -- the model adaptations, in the order they apply -------------------------------------


def _is_family(model, family: str) -> bool:
    """Whether model is of an mlx-audio family, even after another patch swapped its class."""
    return any(cls.__module__.startswith(f"mlx_audio.{family}") for cls in type(model).__mro__)


def _is_kokoro_pipeline_owner(model) -> bool:
    """A whole Kokoro model (the one that keeps the per-language pipelines), not a part of one."""
    return _is_family(model, "tts.models.kokoro") and getattr(model, "_pipelines", None) is not None


def _dequantize(model, caches):
    from . import dequantize

    _counts["dequantize"] += dequantize.expand(model)


def _quantized_on_cpu(model, kind):
    from .dequantize import is_quantized

    return enabled() and is_quantized(model)


def _kokoro_g2p(model, caches):
    from .kokoro_g2p import prepare_kokoro

    prepare_kokoro(model, caches.folder)


def _whisper_fp32(model, caches):
    from . import whisper_fp32

    whisper_fp32.to_fp32(model)
    _counts["whisper-fp32"] += 1
    return {"fp16": False}


def _whisper_numpy(model, caches):
    from . import whisper_numpy

    _counts["whisper-numpy"] += whisper_numpy.optimise(model)


def _vocoder_convs(model, caches):
    from . import vocoder_convs

    _counts["vocoder-convs"] += vocoder_convs.apply(model)


def _kokoro_numpy(model, caches):
    from . import kokoro_numpy

    store = caches.kernels.with_version(kokoro_numpy.KERNELS_VERSION) if caches.kernels else None
    _counts["kokoro-numpy"] += kokoro_numpy.optimise(model, store)


def _stoppable(model, caches):
    from . import stoppable

    stoppable.apply(model)


def _any_whisper(model, kind):
    from .whisper_fp32 import is_mlx_audio_whisper

    return kind == "transcription" and is_mlx_audio_whisper(model)


def _cpu_whisper(model, kind):
    from .whisper_fp32 import is_mlx_audio_whisper

    return kind == "transcription" and enabled() and is_mlx_audio_whisper(model)


def _cpu_speech(model, kind):
    return kind == "speech" and enabled()


_ADAPTATIONS = (
    ("dequantize", _quantized_on_cpu, _dequantize),
    ("kokoro-g2p", lambda model, kind: _is_kokoro_pipeline_owner(model), _kokoro_g2p),
    ("whisper-fp32", _cpu_whisper, _whisper_fp32),
    ("whisper-numpy", _cpu_whisper, _whisper_numpy),
    ("vocoder-convs", _cpu_speech, _vocoder_convs),
    ("kokoro-numpy", _cpu_speech, _kokoro_numpy),
    ("stoppable-windows", _any_whisper, _stoppable),
)


def prepare_language(model, lang_code: str) -> None:
    """Before a Kokoro speaks lang_code: an offline pipeline for it (kokoro_g2p.py)."""
    if _is_kokoro_pipeline_owner(model):
        from .kokoro_g2p import ensure_pipeline

        ensure_pipeline(model, lang_code)


# -- what is active ---------------------------------------------------------------------


def describe() -> dict:
    """What is active in this process, for benchmarks and diagnostics."""
    device = None
    if "mlx.core" in sys.modules:
        device = "gpu" if mlx_uses_gpu() else "cpu"
    return {
        "enabled": enabled(),
        "switch": os.environ.get(ENV_SWITCH),  # None: not set (on by default)
        "platform": f"{sys.platform}-{platform.machine()}",
        "device": device,
        "blas": blas.preloaded() or blas.global_blas(),
        "blas_preloaded": bool(blas.preloaded()),
        # OpenBLAS picks its kernels from the CPU unless this pins them (it halves
        # sgemm speed on an AVX-512 CPU pinned to Haswell, measured).
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "dequantized_layers": _counts["dequantize"],
        "whisper_fp32_models": _counts["whisper-fp32"],
        "whisper_fast_modules": _counts["whisper-numpy"],
        "fast_conv_layers": _counts["vocoder-convs"],
        "numpy_resblocks": _counts["kokoro-numpy"],
        "skipped": sorted(_warned),
    }
