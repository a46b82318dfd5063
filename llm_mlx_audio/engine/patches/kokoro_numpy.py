"""Kokoro's (and kitten_tts's) hot loops on a CPU, in numpy.

~90% of Kokoro's time on a CPU goes to the vocoder's AdaINResBlock1 blocks: per
second of speech, 4800 frames x 128 channels (and 800 x 256) pass through 6 convs,
6 instance norms and 6 Snake activations per block, 8 blocks (~48 GFLOP). Measured
on 2 cores, MLX-CPU gives their convolutions 90-160 GFLOPS (im2col, then Debian's
OpenBLAS 0.3.21) and evaluates the Snake's sin() one scalar at a time (~90 ms per
activation); the OpenBLAS bundled with numpy/scipy (0.3.30+) reaches 190-230 GFLOPS
and numpy's sin() is vectorised.

So each block runs in numpy: every conv is one accumulating sgemm (scipy's BLAS)
per kernel tap over shifted views of the (time, channels) signal -- dilation is
just a wider shift, no im2col copy, no padded copy -- with the weight-normalised
kernels computed once. Kokoro's RTF on 2 cores went from 1.09 to 0.46. The
block takes and returns MLX arrays exactly like mlx-audio's, same maths in fp32:
results match the stock block to float rounding (tests compare them).

The same conv serves every other stride-1 weight-normalised conv (``conv_weighted``,
through ``NumpyConvWeighted``), and the LSTMs' time loops run in numpy
too (``NumpyLSTM``). All numpy kernels are built when the model loads (``prepare``).
"""

from __future__ import annotations

import sys

from . import kernels
from .swap import swap_class

_FAMILIES = ("mlx_audio.tts.models.kokoro", "mlx_audio.tts.models.kitten_tts")


# Part of the kernels' fingerprint: change it when what _build_params or _conv_params
# return changes, so that kernels saved by an older version are made again.
KERNELS_VERSION = "kokoro-numpy-2"  # 2: quantized folders build from dequantized weights


def optimise(model, store=None) -> int:
    """Swap the numpy versions into every AdaINResBlock1, LSTM and ConvWeighted; return how
    many blocks and LSTMs (the convs come with them)."""
    swaps = {}
    for family in _FAMILIES:
        istftnet, modules = sys.modules.get(family + ".istftnet"), sys.modules.get(family + ".modules")
        if istftnet is not None and hasattr(istftnet, "AdaINResBlock1"):
            swaps[istftnet.AdaINResBlock1] = NumpyResBlock
        if modules is not None and hasattr(modules, "LSTM"):
            swaps[modules.LSTM] = NumpyLSTM
    conv_classes = tuple(
        istftnet.ConvWeighted
        for istftnet in (sys.modules.get(family + ".istftnet") for family in _FAMILIES)
        if istftnet is not None and hasattr(istftnet, "ConvWeighted")
    )
    count = convs = 0
    for module in model.modules():
        mixin = swaps.get(type(module))
        if mixin is None and conv_classes and isinstance(module, conv_classes):
            mixin = NumpyConvWeighted  # on top of vocoder_convs' class, if that applied
        if mixin is None or not mixin.applies_to(module):
            continue
        swap_class(module, mixin)
        convs += mixin is NumpyConvWeighted
        count += mixin is not NumpyConvWeighted
    if count or convs:
        prepare(model, store)
    return count


def _alphas(block):
    """The Snake alphas as (alpha1 list, alpha2 list): Kokoro lists, kitten attributes."""
    if "alpha1" in block and "alpha2" in block:
        return block["alpha1"], block["alpha2"]
    names1 = getattr(block, "_alpha1_names", None)
    names2 = getattr(block, "_alpha2_names", None)
    if names1 and names2:
        return [getattr(block, n) for n in names1], [getattr(block, n) for n in names2]
    return None


class NumpyResBlock:
    """AdaINResBlock1 computed in numpy on (time, channels) arrays."""

    @staticmethod
    def applies_to(block) -> bool:
        return _alphas(block) is not None

    def __call__(self, x, s):
        import mlx.core as mx
        import numpy as np

        if x.dtype != mx.float32 or x.ndim != 3:
            return super().__call__(x, s)
        mx.eval(x, s)
        params = _numpy_params(self)
        styles = np.asarray(s, dtype=np.float32).reshape(s.shape[0], -1)
        signal = np.ascontiguousarray(np.asarray(x).transpose(0, 2, 1))  # (batch, time, channels)
        for stage in params:
            h = _adain(signal, styles, stage["adain1"])
            _snake(h, stage["alpha1"])
            h = _conv(h, *stage["conv1"])
            h = _adain(h, styles, stage["adain2"])
            _snake(h, stage["alpha2"])
            h = _conv(h, *stage["conv2"])
            h += signal
            signal = h
        return mx.array(signal.transpose(0, 2, 1))


class NumpyLSTM:
    """mlx-audio's bidirectional LSTM with the time loop in numpy.

    Kokoro runs six of them over the phonemes (~100 steps, both directions). In MLX
    each step is a dozen tiny ops whose dispatch costs more than their maths (~230 ms
    per sentence, measured); numpy does a step in ~25 us. Same gates, same order, fp32.
    """

    @staticmethod
    def applies_to(lstm) -> bool:
        return not getattr(lstm, "activation_quant", False) and "Wx_forward" in lstm

    def _forward_direction(self, x, hidden=None, cell=None):
        return _lstm_direction(self, x, hidden, cell, "forward") or super()._forward_direction(
            x, hidden, cell
        )

    def _backward_direction(self, x, hidden=None, cell=None):
        return _lstm_direction(self, x, hidden, cell, "backward") or super()._backward_direction(
            x, hidden, cell
        )


def _lstm_direction(lstm, x, hidden, cell, direction):
    """(all hidden, all cell) as (batch, time, hidden) MLX arrays; None where MLX must do it."""
    import mlx.core as mx
    import numpy as np

    wx, wh = lstm[f"Wx_{direction}"], lstm[f"Wh_{direction}"]
    if x.dtype != mx.float32 or wx.dtype != mx.float32 or x.ndim != 3:
        return None
    bias_ih, bias_hh = lstm.get(f"bias_ih_{direction}"), lstm.get(f"bias_hh_{direction}")
    mx.eval(x, wx, wh, *(b for b in (bias_ih, bias_hh, hidden, cell) if b is not None))
    batch, steps, _ = x.shape
    size = lstm.hidden_size
    projected = np.asarray(x) @ np.asarray(wx).T
    if bias_ih is not None and bias_hh is not None:
        projected += np.asarray(bias_ih) + np.asarray(bias_hh)
    recurrent = np.asarray(wh).T
    h = np.zeros((batch, size), np.float32) if hidden is None else np.array(hidden, np.float32)
    c = np.zeros((batch, size), np.float32) if cell is None else np.array(cell, np.float32)
    all_h = np.empty((batch, steps, size), np.float32)
    all_c = np.empty((batch, steps, size), np.float32)
    order = range(steps) if direction == "forward" else range(steps - 1, -1, -1)
    for t in order:
        gates = projected[:, t] + h @ recurrent
        i = _sigmoid(gates[:, :size])
        f = _sigmoid(gates[:, size : 2 * size])
        g = np.tanh(gates[:, 2 * size : 3 * size])
        o = _sigmoid(gates[:, 3 * size :])
        c = f * c + i * g
        h = o * np.tanh(c)
        all_h[:, t] = h
        all_c[:, t] = c
    return mx.array(all_h), mx.array(all_c)


def _sigmoid(x):
    import numpy as np

    return 1.0 / (1.0 + np.exp(-x))


def _numpy_params(block) -> list:
    """Weight-normalised kernels and the rest, as numpy arrays, made once per block."""
    return kernels.cached_on(block, *_block_kernels(block))


def _block_kernels(block):
    """(key, build) of a residual block's numpy kernels: made again when key is replaced."""
    return block.convs1[0].weight_v, lambda: _build_params(block)


def _build_params(block) -> list:
    import mlx.core as mx
    import numpy as np

    alpha1, alpha2 = _alphas(block)
    stages = []
    for c1, c2, n1, n2, a1, a2 in zip(
        block.convs1, block.convs2, block.adain1, block.adain2, alpha1, alpha2, strict=False
    ):
        stages.append({
            "adain1": _adain_params(n1), "adain2": _adain_params(n2),
            "alpha1": np.asarray(a1.astype(mx.float32)).reshape(-1),
            "alpha2": np.asarray(a2.astype(mx.float32)).reshape(-1),
            "conv1": _conv_params(c1), "conv2": _conv_params(c2),
        })  # fmt: skip
    return stages


def _conv_params(conv):
    """(taps, bias, padding, dilation): taps[j] is the (in, out) matrix of tap j."""
    import mlx.core as mx
    import numpy as np

    v = np.asarray(conv.weight_v.astype(mx.float32))  # (out, kernel, in)
    g = np.asarray(conv.weight_g.astype(mx.float32))
    norm = np.sqrt((v * v).sum(axis=(1, 2), keepdims=True))
    weight = v / (norm + np.float32(1e-7)) * g
    taps = [np.ascontiguousarray(weight[:, j, :].T) for j in range(weight.shape[1])]
    bias = None if conv.bias is None else np.asarray(conv.bias.astype(mx.float32))
    if conv.stride != 1 or conv.groups != 1:
        raise ValueError("only stride-1, ungrouped convolutions are expected here")
    return taps, bias, conv.padding, conv.dilation


def _adain_params(adain):
    import mlx.core as mx
    import numpy as np

    weight = np.asarray(adain.fc.weight.astype(mx.float32))
    bias = np.asarray(adain.fc.bias.astype(mx.float32))
    return weight, bias, adain.norm.eps


def _adain(x, styles, params):
    """(1 + gamma) * instance_norm(x) + beta, gamma and beta from the style vector."""
    import numpy as np

    weight, bias, eps = params
    h = styles @ weight.T + bias  # (batch, 2 * channels)
    gamma, beta = np.split(h[:, None, :], 2, axis=-1)
    mean = x.mean(axis=1, keepdims=True)
    centred = x - mean
    variance = np.mean(centred * centred, axis=1, keepdims=True)
    centred *= (1.0 + gamma) / np.sqrt(variance + np.float32(eps))
    centred += beta
    return centred


def _snake(x, alpha):
    """x + sin(alpha * x)^2 / alpha, in place."""
    import numpy as np

    s = x * alpha
    np.sin(s, out=s)
    s *= s
    s /= alpha
    x += s


def _conv(x, taps, bias, padding, dilation):
    """Stride-1 conv1d on (batch, time, channels): one accumulating GEMM per kernel tap.

    Tap j adds ``x[t + j*dilation - padding] @ taps[j]`` to output row t, for the rows
    whose input lies inside the signal: so the zero padding is never materialised.
    BLAS's own accumulation (sgemm with beta=1) adds each product in place, without
    a temporary (12% faster than numpy's matmul plus an add, measured).
    """
    import numpy as np

    sgemm = kernels.sgemm()
    batch, length, _ = x.shape
    span = dilation * (len(taps) - 1)
    out_length = length + 2 * padding - span
    channels = taps[0].shape[1]
    out = np.empty((batch, out_length, channels), np.float32)
    if bias is None:
        out[...] = 0.0
    else:
        out[...] = bias
    for b in range(batch):
        # Fortran views: (channels, time) = the transpose of each C-ordered block
        target = out[b].T
        for j, tap in enumerate(taps):
            shift = j * dilation - padding  # output row t reads input row t + shift
            first, last = max(0, -shift), min(out_length, length - shift)
            if last <= first:
                continue
            rows = x[b, first + shift : last + shift]
            sgemm(1.0, tap.T, rows.T, beta=1.0, c=target[:, first:last], overwrite_c=1)
    return out


class NumpyConvWeighted:
    """A ConvWeighted whose plain stride-1 conv1d runs in numpy; anything else as before."""

    @staticmethod
    def applies_to(module) -> bool:
        return "weight_v" in module

    def __call__(self, x, conv):
        import mlx.core as mx

        if conv is mx.conv1d:
            y = conv_weighted(self, x)
            if y is not None:
                return y
        return super().__call__(x, conv)


def conv_weighted(module, x):
    """A ConvWeighted's stride-1 conv1d in numpy, or None where that does not apply.

    Used by NumpyConvWeighted for every plain convolution outside the
    residual blocks (the decoder's AdainResBlk1d, conv_post, the prosody predictor):
    MLX-CPU spends ~90 ms on conv_post alone (128 -> 22 channels, 7 taps, 32k frames),
    numpy ~10 ms.
    """
    import mlx.core as mx
    import numpy as np

    if (
        module.stride != 1
        or module.groups != 1
        or x.ndim != 3
        or x.dtype != mx.float32
        or x.shape[-1] != module.weight_v.shape[-1]
        or not isinstance(module.padding, int)
    ):
        return None
    taps, bias, padding, dilation = _conv_weighted_params(module)
    mx.eval(x)
    signal = np.asarray(x)
    if not signal.flags.c_contiguous:
        signal = np.ascontiguousarray(signal)
    return mx.array(_conv(signal, taps, bias, padding, dilation))


def _conv_weighted_params(module):
    """A ConvWeighted's numpy kernels, made once (and again if its weights change)."""
    return kernels.cached_on(module, *_conv_kernels(module))


def _conv_kernels(module):
    """(key, build) of a ConvWeighted's numpy kernels."""
    return module.weight_v, lambda: _conv_params(module)


def prepare(model, store=None) -> None:
    """Build every numpy kernel now, at load, rather than in the first sentence.

    Weight-normalising and re-laying ~130 convolutions takes ~0.65 s; done lazily it
    made the first sentence of a process ~20% slower than the next ones (measured),
    which ``llm speak --stream`` feels as time to first audio. With a ``store``
    (kernel_store.Store) they are read from its file when it matches this model, and
    written to it when it does not.
    """
    kernels.sgemm()  # scipy's OpenBLAS loads now, not mid-sentence

    targets = {}
    for name, module in model.named_modules():
        if isinstance(module, NumpyResBlock):
            targets[name] = (module, *_block_kernels(module))
        elif isinstance(module, NumpyConvWeighted):
            if module.stride == 1 and module.groups == 1 and isinstance(module.padding, int):
                targets[name] = (module, *_conv_kernels(module))
    saved = store.load() if store is not None else None
    if saved is not None and saved.keys() == targets.keys():
        for name, (module, key, _) in targets.items():
            kernels.keep_on(module, key, saved[name])
        return
    built = {name: kernels.cached_on(module, key, build) for name, (module, key, build) in targets.items()}
    if store is not None:
        store.save(built)
