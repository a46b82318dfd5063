"""Quantized weights expanded to floats at load, on a CPU.

The hub's ``-4bit``/``-6bit``/``-8bit`` repos (Kokoro, Whisper) are what Mac users
pick: on Metal, quantized matrix products are the fast path. On MLX's CPU back-end
they run at the reference-BLAS speed whatever BLAS is loaded (a 512x1024x1024
product: 0.71 s 4-bit against 0.019 s for numpy on OpenBLAS, measured), and the
numpy paths read float weights. So on a CPU each quantized layer becomes the float
layer holding exactly ``mx.dequantize``'s weights (mlx-audio's own
``dequantize_model``): the same numbers stock mlx-audio multiplies, and every other
speed-up applies. Memory: as the unquantized model. On Metal this never runs.
"""

from __future__ import annotations


def is_quantized(model) -> bool:
    """Whether any layer of the model holds quantized (packed) weights."""
    import mlx.nn as nn

    return any(
        isinstance(module, (nn.QuantizedLinear, nn.QuantizedEmbedding)) for _, module in model.named_modules()
    )


def expand(model) -> int:
    """Replace every quantized layer with its float twin; the number replaced."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx_audio.lm.convert import dequantize_model

    count = sum(
        isinstance(module, (nn.QuantizedLinear, nn.QuantizedEmbedding)) for _, module in model.named_modules()
    )
    dequantize_model(model)
    mx.eval(model.parameters())
    return count
