"""mlx-audio's Whisper in plain fp32 on a CPU.

fp16 and quantised matmuls never reach BLAS on MLX-CPU (Whisper fp16: ~11 s per
30-s encoder window; fp32 with OpenBLAS: 1.2-1.7 s), so Whisper is converted once
at load and told ``fp16=False`` on every generate call.
"""

from __future__ import annotations

import sys


def is_mlx_audio_whisper(model) -> bool:
    """An mlx-audio Whisper, stock or with its class already swapped by another patch."""
    families = {".".join(cls.__module__.split(".")[:4]) for cls in type(model).__mro__}
    return "mlx_audio.stt.models.whisper" in families and hasattr(model, "encoder")


def to_fp32(model) -> None:
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
