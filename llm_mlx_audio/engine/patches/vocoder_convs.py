"""Kokoro's and kitten_tts's vocoder convolutions off MLX-CPU's naive loops.

MLX-CPU runs conv1d with dilation > 1 and every conv_transpose1d one multiply-add
at a time. Each ``ConvWeighted`` of those vocoders gets a class whose convolutions
are ordinary ones (which go through im2col + BLAS). kokoro_numpy goes further for
the stride-1 ones (numpy, on top of this class).
"""

from __future__ import annotations

import sys

from .swap import swap_class

# The modules whose ConvWeighted instances get the fast convolutions.
CONV_WEIGHTED_MODULES = (
    "mlx_audio.tts.models.kokoro.istftnet",
    "mlx_audio.tts.models.kitten_tts.istftnet",
)


def apply(model) -> int:
    """Give every Kokoro/kitten ConvWeighted the fast convolutions; return how many."""
    slow_classes = {
        getattr(sys.modules[name], "ConvWeighted", None)
        for name in CONV_WEIGHTED_MODULES
        if name in sys.modules
    } - {None}
    swapped = 0
    for module in model.modules():
        if type(module) in slow_classes:
            swap_class(module, FastConvWeighted)
            swapped += 1
    return swapped


class FastConvWeighted:
    """A ConvWeighted whose convolutions avoid MLX-CPU's naive paths."""

    def __call__(self, x, conv):
        return super().__call__(x, _fast_equivalent(conv))


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


def fast_conv_transpose1d(x, weight, stride=1, padding=0, dilation=1, output_padding=0, groups=1):
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
        return mx.conv_transpose1d(x, weight, stride, padding, dilation, output_padding, groups)
    batch, length, channels = x.shape
    out_length = (length - 1) * stride + taps - 2 * padding + output_padding
    if out_length <= 0 or padding < 0 or output_padding < 0:
        return mx.conv_transpose1d(x, weight, stride, padding, dilation, output_padding, groups)
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
