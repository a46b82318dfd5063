"""Voice activity detection: Silero VAD's speech probability for every 32 ms of 16 kHz audio.

The one VAD of the package (transcription cuts speech with it; live listening and
diarization build on it). The model is mlx-audio's ``silero_vad``, loaded through
the pool, and this runs on the MLX thread.

mlx-audio's own ``predict_proba`` runs the whole network once per 512-sample chunk:
~7 ms a chunk on a CPU, 2.6 minutes for 12 minutes of audio. But only the LSTM
carries state from chunk to chunk; the STFT and the four convolutions see one
chunk (plus 64 samples of context) at a time. So the convolutions run here over
thousands of chunks at once, as one batch through the model's own layers, and the
LSTM (one 128-wide step per chunk, too small for MLX's per-op dispatch) runs in
numpy over the precomputed input projections. Same maths, same weights: the tests
compare it with the stock model and with onnxruntime on the original ONNX.
"""

from __future__ import annotations

import dataclasses

from .patches import switch

CHUNK = 512  # samples per probability at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous chunk each chunk sees
SAMPLE_RATE = 16000
_BATCH = 4096  # chunks per convolution batch (~2 min of audio, a few MB of activations)


@dataclasses.dataclass
class VadState:
    """What carries from one piece of a stream to the next: the LSTM and the last samples."""

    hidden: object  # numpy (128,)
    cell: object
    context: object  # numpy (64,) float32
    leftover: object  # samples not yet making a whole chunk


def initial_state() -> VadState:
    import numpy as np

    zeros = np.zeros(128, np.float32)
    return VadState(zeros, zeros.copy(), np.zeros(CONTEXT, np.float32), np.zeros(0, np.float32))


def speech_probabilities(model, samples, state: VadState | None = None, final: bool = True):
    """(probabilities, state) for 16 kHz mono samples, one probability per 512 samples.

    With final=False the samples that do not fill a chunk wait in the state for the
    next piece; with final=True they are padded with zeros and scored (as Silero's
    own utilities do at the end of a file).
    """
    import numpy as np

    state = state or initial_state()
    samples = np.concatenate([state.leftover, np.asarray(samples, np.float32).reshape(-1)])
    whole = len(samples) // CHUNK
    if final and len(samples) % CHUNK:
        samples = np.pad(samples, (0, CHUNK - len(samples) % CHUNK))
        whole += 1
    leftover = samples[whole * CHUNK :]
    chunks = samples[: whole * CHUNK].reshape(whole, CHUNK)
    if whole == 0:
        return np.zeros(0, np.float32), dataclasses.replace(state, leftover=leftover)
    contexts = np.concatenate([state.context[None], chunks[:-1, -CONTEXT:]])
    windows = np.concatenate([contexts, chunks], axis=1)  # (n, 576)
    branch = model.vad_16k
    encode = _encode_numpy if switch.enabled() else _encode
    features = np.concatenate(
        [encode(branch, windows[i : i + _BATCH]) for i in range(0, whole, _BATCH)]
    )  # (n, 128)
    weights = _numpy_weights(branch)
    hidden, cell, outputs = _lstm(weights["lstm"], features, state.hidden, state.cell)
    final_w, final_b = weights["final"]
    logits = np.maximum(outputs, 0) @ final_w + final_b
    probabilities = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32).reshape(-1)
    new_state = VadState(hidden, cell, chunks[-1, -CONTEXT:].copy(), leftover)
    return probabilities, new_state


def _encode(branch, windows):
    """The STFT magnitude and four ReLU convolutions of each 576-sample window: (n, 128)."""
    import mlx.core as mx
    import mlx.nn as nn
    import numpy as np

    pad = branch.config.pad
    x = mx.array(windows)
    reflected = x[:, -2 : -pad - 2 : -1]  # reflect padding on the right, as the model does
    x = mx.concatenate([x, reflected], axis=1)[..., None]
    x = branch.stft_conv(x)
    cutoff = branch.config.cutoff
    real, imag = x[..., :cutoff], x[..., cutoff:]
    x = mx.sqrt(real * real + imag * imag)
    for conv in (branch.conv1, branch.conv2, branch.conv3, branch.conv4):
        x = nn.relu(conv(x))
    # One time step per chunk: that is what makes chunks independent up to the LSTM.
    return np.array(x[:, -1, :], dtype=np.float32)


def _encode_numpy(branch, windows):
    """_encode as numpy products (the CPU path: MLX-CPU's convolutions are ~20x slower here).

    Each window makes 4 STFT frames, so every convolution is a product over a few
    gathered frames: conv1 keeps 4 frames, the two stride-2 ones leave 2 and then 1,
    and conv4 sees that one frame with zero padding on both sides (its centre tap).
    """
    import numpy as np

    weights = _numpy_weights(branch)
    pad, cutoff = branch.config.pad, branch.config.cutoff
    hop, width = branch.config.hop_length, branch.config.filter_length
    x = np.concatenate([windows, windows[:, -2 : -pad - 2 : -1]], axis=1)
    count = (x.shape[1] - width) // hop + 1
    frames = np.stack([x[:, k * hop : k * hop + width] for k in range(count)], axis=1)
    spectrum = frames @ weights["stft"]  # (n, 4, 258)
    x = np.sqrt(spectrum[..., :cutoff] ** 2 + spectrum[..., cutoff:] ** 2)
    for name, stride in (("conv1", 1), ("conv2", 2), ("conv3", 2), ("conv4", 1)):
        x = _conv3_numpy(x, *weights[name], stride)
    return x[:, -1, :].astype(np.float32)


def _conv3_numpy(x, weight, bias, stride):
    """A kernel-3, padding-1 convolution with ReLU over (n, frames, channels)."""
    import numpy as np

    n, frames, channels = x.shape
    padded = np.zeros((n, frames + 2, channels), np.float32)
    padded[:, 1:-1] = x
    starts = range(0, frames, stride)
    taps = np.stack([padded[:, s : s + 3].reshape(n, -1) for s in starts], axis=1)
    return np.maximum(taps @ weight + bias, 0)


def _numpy_weights(branch) -> dict:
    """The branch's weights laid out for numpy, made once per model (not once per block of a
    live stream): convolutions as (taps * in, out) matrices, the LSTM's transposed, the
    final 1x1 convolution as a column."""
    from .patches import kernels

    return kernels.cached_on(branch, branch.conv1.weight, lambda: _build_numpy_weights(branch))


def _build_numpy_weights(branch) -> dict:
    import numpy as np

    def matrix(conv):  # MLX (out, kernel, in) -> (kernel * in, out)
        weight = np.array(conv.weight, dtype=np.float32)
        return np.ascontiguousarray(weight.reshape(weight.shape[0], -1).T)

    weights = {"stft": matrix(branch.stft_conv)}
    for name in ("conv1", "conv2", "conv3", "conv4"):
        conv = getattr(branch, name)
        weights[name] = (matrix(conv), np.array(conv.bias, dtype=np.float32))

    def transposed(array):
        return np.ascontiguousarray(np.array(array, dtype=np.float32).T)

    lstm = branch.lstm
    weights["lstm"] = (transposed(lstm.Wx), transposed(lstm.Wh), np.array(lstm.bias, dtype=np.float32))
    final = branch.final_conv
    weights["final"] = (
        np.array(final.weight, dtype=np.float32).reshape(1, -1).T,  # (128, 1)
        np.array(final.bias, dtype=np.float32),
    )
    return weights


def _lstm(weights, features, hidden, cell):
    """Run the LSTM over the chunks' features in order; returns final h, c and every h."""
    import numpy as np

    wx_t, wh_t, bias = weights  # (in, 4h), (h, 4h), (4h,)
    inputs = features @ wx_t + bias  # (n, 512), one product for all chunks
    size = wh_t.shape[0]
    outputs = np.empty((len(features), size), np.float32)
    h, c = hidden.astype(np.float32), cell.astype(np.float32)
    for t in range(len(features)):
        gates = inputs[t] + h @ wh_t
        i = _sigmoid(gates[:size])
        f = _sigmoid(gates[size : 2 * size])
        g = np.tanh(gates[2 * size : 3 * size])
        o = _sigmoid(gates[3 * size :])
        c = f * c + i * g
        h = o * np.tanh(c)
        outputs[t] = h
    return h, c, outputs


def _sigmoid(x):
    import numpy as np

    return 1.0 / (1.0 + np.exp(-x))


class StreamingVad:
    """speech_probabilities over a live stream: each call continues where the last ended."""

    def __init__(self, model):
        self._model = model
        self._state = None

    def probabilities(self, samples):
        from .thread import get_mlx_thread

        probabilities, self._state = get_mlx_thread().run(
            speech_probabilities, self._model, samples, self._state, False
        )
        return probabilities
