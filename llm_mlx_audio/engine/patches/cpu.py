"""Make MLX fast on Linux CPUs, and stay out of the way everywhere else.

The mlx-cpu wheel is built for correctness, not speed, and three things make speech
models crawl on a Linux CPU:

* it links the netlib *reference* BLAS, so every fp32 matmul is ~30x slower than with
  OpenBLAS. MLX binds its BLAS symbols when ``mlx.core`` is imported, so an OpenBLAS
  loaded with RTLD_GLOBAL *before* that import takes over (``prepare_mlx``);
* fp16 and quantised matmuls never reach BLAS at all, so Whisper (shipped in fp16,
  sometimes quantised) is run in plain fp32;
* conv1d with dilation > 1 and every conv_transpose1d fall onto a naive loop. Kokoro
  and kitten_tts vocoders use both; they are rewritten here as ordinary convolutions,
  which go through im2col + BLAS.

On Apple Silicon (Metal), or any GPU device, or with ``LLM_MLX_AUDIO_CPU_FAST=0``, every
function here does nothing. Only stdlib is imported at module level: the plugin is
imported on every ``llm`` call. All functions run on the single MLX thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys
from collections.abc import Iterator

ENV_SWITCH = "LLM_MLX_AUDIO_CPU_FAST"
ENV_BLAS = "LLM_MLX_AUDIO_BLAS"  # a BLAS library to preload instead of searching for OpenBLAS
_OFF = {"0", "false", "no", "off"}
_KINDS = ("speech", "transcription")

# The ConvWeighted classes whose instances get the fast convolutions.
_CONV_WEIGHTED_MODULES = (
    "mlx_audio.tts.models.kokoro.istftnet",
    "mlx_audio.tts.models.kitten_tts.istftnet",
)

_state = {
    "prepared": False,
    "blas": None,
    "whisper_fp32": 0,
    "whisper_fast_modules": 0,
    "fast_convs": 0,
    "numpy_resblocks": 0,
}
_fast_classes: dict = {}


# -- switches -------------------------------------------------------------------


def enabled() -> bool:
    """True where the CPU speed-ups apply: Linux, no GPU device, switch not set to 0.

    Before ``mlx.core`` is imported the device cannot be asked without importing it
    (which would defeat ``prepare_mlx``), so only the platform and switch count then.
    """
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in _OFF:
        return False
    if not sys.platform.startswith("linux"):
        return False
    return not _mlx_uses_gpu()


def _mlx_uses_gpu() -> bool:
    mx = sys.modules.get("mlx.core")
    if mx is None:
        return False
    try:
        metal = getattr(mx, "metal", None)
        if metal is not None and metal.is_available():
            return True
        return mx.default_device() == mx.gpu
    except (AttributeError, RuntimeError):  # an MLX build without these APIs
        return False


# -- BLAS -----------------------------------------------------------------------


def prepare_mlx() -> str | None:
    """Preload an optimised BLAS so that MLX binds to it; return its path, or None.

    Must run before the first ``import mlx.core`` in the process: once MLX has bound
    the reference BLAS, loading another one changes nothing (measured), so then this
    returns None. An OpenBLAS already in the global symbol scope (LD_PRELOAD) is
    reported and nothing else is loaded. Idempotent.
    """
    if _state["prepared"]:
        return _state["blas"]
    if not enabled() or "mlx.core" in sys.modules:
        return None
    _state["prepared"] = True  # searched once per process, found or not
    path = _global_blas()
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


def _global_blas() -> str | None:
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


# -- models ---------------------------------------------------------------------


def optimise_model(model, kind: str) -> dict:
    """Adapt a freshly loaded model to the CPU; return extra kwargs for its generate().

    Whisper ("transcription") is converted to fp32 and needs ``fp16=False`` on every
    generate call. Kokoro and kitten_tts ("speech") get fast convolutions and need
    nothing extra. Anything else, or when ``enabled()`` is False, is left untouched.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, not {kind!r}")
    if not enabled():
        return {}
    if kind == "transcription" and _is_mlx_audio_whisper(model):
        from . import whisper_numpy as cpu_whisper

        _whisper_to_fp32(model)
        _state["whisper_fast_modules"] += cpu_whisper.optimise(model)
        return {"fp16": False}
    if kind == "speech":
        from . import kokoro_numpy as cpu_kokoro

        _use_fast_convs(model)
        _state["numpy_resblocks"] += cpu_kokoro.optimise(model)
    return {}


def _is_mlx_audio_whisper(model) -> bool:
    package = type(model).__module__.split(".")[:4]
    return package == ["mlx_audio", "stt", "models", "whisper"] and hasattr(model, "encoder")


def _whisper_to_fp32(model) -> None:
    """fp32 parameters plus the private arrays that set_dtype does not reach.

    Quantised layers are dequantised: MLX's CPU quantized_matmul never uses BLAS
    (1500x384x1536, 4 or 8 bits: 0.55 s in fp32, 23 s in fp16, against 15 ms for an
    fp32 matmul with OpenBLAS; 0.4 ms against 0.17 ms for one decoder token), so
    quantisation costs speed on a CPU and saves only memory.
    """
    import mlx.core as mx

    _dequantize(model)
    model.set_dtype(mx.float32)
    model.dtype = mx.float32
    encoder, decoder = model.encoder, model.decoder
    # Recomputed rather than recast: an fp16 round trip would keep fp16's error.
    sinusoids = getattr(sys.modules[type(model).__module__], "sinusoids", None)
    if sinusoids is not None:
        encoder._positional_embedding = sinusoids(*encoder._positional_embedding.shape)
    encoder._positional_embedding = encoder._positional_embedding.astype(mx.float32)
    decoder._mask = decoder._mask.astype(mx.float32)
    mx.eval(model.parameters(), encoder._positional_embedding, decoder._mask)
    _state["whisper_fp32"] += 1


def _dequantize(model) -> None:
    import mlx.core as mx
    from mlx import nn
    from mlx.utils import tree_unflatten

    plain = []
    for name, layer in model.named_modules():
        if not isinstance(layer, (nn.QuantizedLinear, nn.QuantizedEmbedding)):
            continue
        weight = mx.dequantize(
            layer.weight, layer.scales, layer.get("biases"), layer.group_size, layer.bits,
            mode=getattr(layer, "mode", "affine"), dtype=mx.float32,
        )  # fmt: skip
        if isinstance(layer, nn.QuantizedEmbedding):
            replacement = nn.Embedding(*weight.shape)
        else:
            replacement = nn.Linear(weight.shape[1], weight.shape[0], bias="bias" in layer)
            if "bias" in layer:
                replacement.bias = layer.bias
        replacement.weight = weight
        plain.append((name, replacement))
    if plain:
        model.update_modules(tree_unflatten(plain))


def _use_fast_convs(model) -> int:
    """Give every Kokoro/kitten ConvWeighted the fast convolutions; return how many.

    The instance's class is swapped for a subclass, so the parameter tree, weight
    names and isinstance checks in mlx-audio stay exactly as they were.
    """
    slow_classes = {
        getattr(sys.modules[name], "ConvWeighted", None)
        for name in _CONV_WEIGHTED_MODULES
        if name in sys.modules
    } - {None}
    swapped = 0
    for module in model.modules():
        cls = type(module)
        if cls in slow_classes:
            module.__class__ = _fast_class(cls)
            swapped += 1
    _state["fast_convs"] += swapped
    return swapped


def _fast_class(cls):
    fast = _fast_classes.get(cls)
    if fast is None:

        def __call__(self, x, conv):
            import mlx.core as mx

            if conv is mx.conv1d:
                from . import kokoro_numpy as cpu_kokoro

                y = cpu_kokoro.conv_weighted(self, x)
                if y is not None:
                    return y
            return cls.__call__(self, x, _fast_equivalent(conv))

        fast = type(
            "Fast" + cls.__name__,
            (cls,),
            {"__call__": __call__, "__module__": __name__, "__doc__": cls.__doc__},
        )
        _fast_classes[cls] = fast
    return fast


def _fast_equivalent(conv):
    import mlx.core as mx

    if conv is mx.conv1d:
        return fast_conv1d
    if conv is mx.conv_transpose1d:
        return fast_conv_transpose1d
    return conv


# -- kernels --------------------------------------------------------------------


def fast_conv1d(x, weight, stride=1, padding=0, dilation=1, groups=1):
    """mx.conv1d, with dilation > 1 computed as d undilated convs on the batch axis.

    Output sample q*d + r only reads input samples r, r+d, r+2d...: so the padded
    input is split into d interleaved phases, stacked on the batch axis, convolved
    with the undilated kernel in one call, and the phases are interleaved back.
    """
    import mlx.core as mx

    if dilation == 1 or stride != 1 or x.ndim != 3 or not isinstance(padding, int):
        return mx.conv1d(x, weight, stride, padding, dilation, groups)
    batch, length, channels = x.shape
    padded = length + 2 * padding
    out_length = padded - dilation * (weight.shape[1] - 1)
    if out_length <= 0:
        return mx.conv1d(x, weight, stride, padding, dilation, groups)  # MLX's own error
    per_phase = -(-padded // dilation)
    x = mx.pad(x, [(0, 0), (padding, padding + per_phase * dilation - padded), (0, 0)])
    x = x.reshape(batch, per_phase, dilation, channels).transpose(0, 2, 1, 3)
    y = mx.conv1d(x.reshape(batch * dilation, per_phase, channels), weight, groups=groups)
    steps = y.shape[1]
    y = y.reshape(batch, dilation, steps, -1).transpose(0, 2, 1, 3)
    return y.reshape(batch, steps * dilation, -1)[:, :out_length]


def fast_conv_transpose1d(
    x, weight, stride=1, padding=0, dilation=1, output_padding=0, groups=1
):
    """mx.conv_transpose1d as one ordinary conv with stride x the output channels.

    Output sample q*s + r only meets kernel taps r, r+s, r+2s...: each phase r is an
    ordinary conv with that sub-kernel (flipped), all phases are computed in one call
    and interleaved. Unlike zero-stuffing the input, no multiplication by an inserted
    zero is wasted (stride 10: 16x faster than zero-stuffing, measured). Depthwise
    kernels (Kokoro's upsampling "pool") are a few elementwise multiply-adds instead.
    """
    import mlx.core as mx

    out_channels, taps, in_per_group = weight.shape
    if dilation != 1 or x.ndim != 3 or not isinstance(padding, int):
        return mx.conv_transpose1d(
            x, weight, stride, padding, dilation, output_padding, groups
        )
    batch, length, channels = x.shape
    out_length = (length - 1) * stride + taps - 2 * padding + output_padding
    if out_length <= 0 or padding < 0 or output_padding < 0:
        return mx.conv_transpose1d(
            x, weight, stride, padding, dilation, output_padding, groups
        )
    phase_taps = -(-taps // stride)
    steps = length + phase_taps - 1
    weight = mx.pad(weight, [(0, 0), (0, phase_taps * stride - taps), (0, 0)])
    x = mx.pad(x, [(0, 0), (phase_taps - 1, phase_taps - 1), (0, 0)])
    if groups == channels == out_channels and in_per_group == 1:
        y = _depthwise_phases(x, weight[:, :, 0], stride, phase_taps, steps)
    else:
        per_group = out_channels // groups
        # tap j*s + r -> phase r, position J-1-j; output channels ordered (group, r, o)
        w = weight.reshape(groups, per_group, phase_taps, stride, in_per_group)
        w = w[:, :, ::-1].transpose(0, 3, 1, 2, 4)
        w = w.reshape(groups * stride * per_group, phase_taps, in_per_group)
        y = mx.conv1d(x, w, groups=groups)
        if groups > 1:
            y = y.reshape(batch, steps, groups, stride, per_group).transpose(0, 1, 3, 2, 4)
        y = y.reshape(batch, steps * stride, out_channels)
    end = padding + out_length
    if end > steps * stride:
        y = mx.pad(y, [(0, 0), (0, end - steps * stride), (0, 0)])
    return y[:, padding:end]


def _depthwise_phases(x, weight, stride, phase_taps, steps):
    import mlx.core as mx

    phases = []
    for r in range(stride):
        acc = None
        for j in range(phase_taps):
            start = phase_taps - 1 - j
            term = x[:, start : start + steps] * weight[:, j * stride + r]
            acc = term if acc is None else acc + term
        phases.append(acc)
    batch, _, channels = phases[0].shape
    return mx.stack(phases, axis=2).reshape(batch, steps * stride, channels)


# -- diagnostics ----------------------------------------------------------------


def describe() -> dict:
    """What is active, for ``llm audio`` diagnostics and benchmarks."""
    device = None
    if "mlx.core" in sys.modules:
        device = "gpu" if _mlx_uses_gpu() else "cpu"
    return {
        "enabled": enabled(),
        "switch": os.environ.get(ENV_SWITCH),  # None: not set (on by default)
        "platform": f"{sys.platform}-{platform.machine()}",
        "device": device,
        "blas": _state["blas"] or _global_blas(),
        "blas_preloaded": bool(_state["blas"]),
        # OpenBLAS picks its kernels from the CPU unless this pins them (it halves
        # sgemm speed on an AVX-512 CPU pinned to Haswell, measured).
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "whisper_fp32_models": _state["whisper_fp32"],
        "whisper_fast_modules": _state["whisper_fast_modules"],
        "fast_conv_layers": _state["fast_convs"],
        "numpy_resblocks": _state["numpy_resblocks"],
    }
