"""Quantized layers become float layers holding exactly mx.dequantize's weights (CPU only)."""

import numpy as np
import pytest

from llm_mlx_audio.engine.patches import dequantize
from llm_mlx_audio.engine.thread import get_mlx_thread


def _quantized_and_expanded(bits):
    import mlx.core as mx
    import mlx.nn as nn

    mx.random.seed(bits)
    model = nn.Sequential(nn.Embedding(96, 128), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 32, bias=False))
    nn.quantize(model, group_size=64, bits=bits)
    tokens = mx.array([[1, 5, 7, 95]])
    before = np.array(model(tokens))
    assert dequantize.is_quantized(model)
    expected = [
        np.array(mx.dequantize(layer.weight, layer.scales, layer.biases, 64, bits))
        for layer in (model.layers[0], model.layers[1], model.layers[3])
    ]
    replaced = dequantize.expand(model)
    after = np.array(model(tokens))
    weights = [np.array(model.layers[i].weight) for i in (0, 1, 3)]
    return replaced, dequantize.is_quantized(model), before, after, expected, weights


@pytest.mark.parametrize("bits", [4, 6, 8])
def test_every_quantized_layer_becomes_its_dequantized_float_twin(bits):
    replaced, still, before, after, expected, weights = get_mlx_thread().run(_quantized_and_expanded, bits)
    assert replaced == 3 and not still
    for got, want in zip(weights, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-5)  # the same outputs as quantized
