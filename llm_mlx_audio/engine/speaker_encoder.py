"""The GE2E speaker encoder as an MLX model: windows of speech in, unit vectors out.

Two windows of the same voice give vectors with a high cosine similarity; different
voices, a low one. That is all diarization needs from it. It is loaded through the
pool and run on the MLX thread like every other model. Each window's level is set to
-30 dBFS first, as resemblyzer does for whole utterances (its features are mel power,
not log mel, so level would otherwise look like a voice).

On MLX's CPU back-end the LSTM's per-step products run in numpy (the same switch as
the other CPU speed-ups): the batched step is a (windows x 256) by (256 x 1024) product,
where numpy's BLAS is several times quicker than MLX-CPU; on Metal MLX runs it all.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..audio.mel_features import RATE, mel_power

TARGET_DBFS = -30.0


def load_model(path: Path):
    """The encoder at path (a folder made by importers/resemblyzer_ge2e.py)."""
    import mlx.core as mx

    config = json.loads((Path(path) / "config.json").read_text())
    model = _module_class()(config)
    model.load_weights(str(Path(path) / "model.safetensors"), strict=True)
    mx.eval(model.parameters())
    return model


def _module_class():
    import mlx.core as mx
    import mlx.nn as nn

    class SpeakerEncoder(nn.Module):
        def __init__(self, config: dict):
            super().__init__()
            self.config = config
            hidden = config["hidden_size"]
            sizes = [config["n_mels"]] + [hidden] * (config["num_layers"] - 1)
            self.lstm = [nn.LSTM(size, hidden) for size in sizes]
            self.linear = nn.Linear(hidden, config["embedding_size"])

        def __call__(self, mels):
            """(windows, frames, 40) mel power -> (windows, 256) unit vectors."""
            x = mels
            for layer in self.lstm:
                x, _ = layer(x)
            raw = nn.relu(self.linear(x[:, -1]))
            return raw / mx.maximum(mx.linalg.norm(raw, axis=-1, keepdims=True), 1e-12)

    return SpeakerEncoder


def window_mels(samples: np.ndarray) -> np.ndarray:
    """A window of 16 kHz speech as the encoder's input: level set, then mel power."""
    samples = np.asarray(samples, np.float32)
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0
    if rms > 1e-5:
        samples = samples * (10 ** (TARGET_DBFS / 20) / rms)
    return mel_power(samples)


def embed(model, windows: list[np.ndarray], use_numpy: bool | None = None) -> np.ndarray:
    """(len(windows), 256) embeddings; windows of equal length run as one batch."""
    if not windows:
        return np.zeros((0, model.config["embedding_size"]), np.float32)
    out = np.zeros((len(windows), model.config["embedding_size"]), np.float32)
    by_length: dict[int, list[int]] = {}
    for i, window in enumerate(windows):
        by_length.setdefault(len(window), []).append(i)
    if use_numpy is None:
        from .patches import switch

        use_numpy = switch.enabled()
    for indices in by_length.values():
        mels = np.stack([window_mels(windows[i]) for i in indices])
        out[indices] = _numpy_forward(model, mels) if use_numpy else _mlx_forward(model, mels)
    return out


def _mlx_forward(model, mels):
    import mlx.core as mx

    result = model(mx.array(mels))
    mx.eval(result)
    return np.array(result)


def _numpy_forward(model, mels):
    """The same network in numpy, with the input products of every step done at once."""
    x = mels
    for wx, wh, bias in _numpy_weights(model):
        batch, steps, _ = x.shape
        gates_in = (x.reshape(batch * steps, -1) @ wx + bias).reshape(batch, steps, -1)
        hidden_size = wh.shape[0]
        h = np.zeros((batch, hidden_size), np.float32)
        c = np.zeros((batch, hidden_size), np.float32)
        outputs = np.empty((batch, steps, hidden_size), np.float32)
        for t in range(steps):
            gates = gates_in[:, t] + h @ wh
            i, f, g, o = np.split(gates, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            outputs[:, t] = h
        x = outputs
    weight, bias = _numpy_linear(model)
    raw = np.maximum(x[:, -1] @ weight + bias, 0)
    return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))  # one tanh: stable, and quicker than exp


def _numpy_weights(model):
    cached = getattr(model, "_numpy_lstm", None)
    if cached is None:
        cached = [
            (np.array(layer.Wx).T.copy(), np.array(layer.Wh).T.copy(), np.array(layer.bias))
            for layer in model.lstm
        ]
        object.__setattr__(model, "_numpy_lstm", cached)
    return cached


def _numpy_linear(model):
    cached = getattr(model, "_numpy_linear_weights", None)
    if cached is None:
        cached = (np.array(model.linear.weight).T.copy(), np.array(model.linear.bias))
        object.__setattr__(model, "_numpy_linear_weights", cached)
    return cached


__all__ = ["RATE", "embed", "load_model", "window_mels"]
