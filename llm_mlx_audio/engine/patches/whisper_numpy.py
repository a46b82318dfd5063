"""Whisper on a CPU: the same maths as mlx-audio's, arranged for the CPU's strengths.

Measured on Whisper tiny.en with 2 cores (OpenBLAS, fp32), the stock model spends:

* ~150 ms per encoder layer in the attention softmax (MLX-CPU's exp is scalar), and
  runs its products at ~140 GFLOPS: here each encoder block runs in numpy
  (vectorised exp, numpy's OpenBLAS at ~240 GFLOPS);
* ~50 ms per encoder layer in ``nn.gelu`` (scalar erf): a polynomial erf instead;
* ~1 ms per decoder layer and token re-transposing and re-scaling the cached
  cross-attention keys of all 1500 audio frames: cached once, already transposed;
* ~13 ms per token in all: ~150 tiny MLX ops whose dispatch outweighs their maths,
  plus per-token rules (timestamps, greedy choice) with scalar logsumexps over the
  51864 logits. Each step after the prompt runs in numpy (~4 ms, mostly reading the
  weights from memory), and so do those rules.

Instances get subclasses of their mlx-audio classes (``__class__`` is swapped), so
weights, names, isinstance checks and every caller stay as they were. Each swapped
``__call__`` returns what the original returns; results match the stock model
within float rounding (tests compare them).
"""

from __future__ import annotations

import functools
import sys

from . import kernels
from .swap import swap_class

_WHISPER_MODULE = "mlx_audio.stt.models.whisper.whisper"


def optimise(model) -> int:
    """Swap the CPU versions into an mlx-audio Whisper model; return how many modules."""
    whisper = sys.modules[_WHISPER_MODULE]
    swaps = {
        whisper.AudioEncoder: FastAudioEncoder,
        whisper.TextDecoder: FastTextDecoder,
        whisper.ResidualAttentionBlock: FastResidualAttentionBlock,
    }
    count = 0
    if isinstance(model, whisper.Model):
        swap_class(model, FastWhisper)
        count += 1
    for module in model.modules():
        fast = swaps.get(type(module))
        if fast is not None:
            swap_class(module, fast)
            count += 1
    for block in model.decoder.blocks:
        if block.cross_attn is not None:
            swap_class(block.cross_attn, FastCrossAttention)
            count += 1
    return count


class FastCrossAttention:
    """Decoder cross-attention whose cache holds keys and values ready to multiply.

    The stock layer caches ``(k, v)`` as (batch, frames, state) and, for every token,
    reshapes, transposes and scales all of them again. Here the cache holds
    ``(k * scale)`` as (batch, heads, head_dim, frames) and ``v`` as (batch, heads,
    frames, head_dim), made once per audio window. The numpy decoder builds the same
    layout (``_cross_cache``), so a cache made by either is read by both; nothing else
    reads it, and beam search re-indexes it along axis 0, still the batch axis.
    """

    def __call__(self, x, xa=None, mask=None, kv_cache=None):
        if xa is None or mask is not None:
            return super().__call__(x, xa, mask, kv_cache)
        import mlx.core as mx

        if kv_cache is None:
            batch, frames, state = xa.shape
            heads = self.n_head
            scale = (state // heads) ** -0.25
            k = self.key(xa).reshape(batch, frames, heads, -1).transpose(0, 2, 3, 1) * scale
            v = self.value(xa).reshape(batch, frames, heads, -1).transpose(0, 2, 1, 3)
            k, v = mx.contiguous(k), mx.contiguous(v)
        else:
            k, v = kv_cache
        batch, tokens, state = x.shape
        heads = self.n_head
        scale = (state // heads) ** -0.25
        q = self.query(x).reshape(batch, tokens, heads, -1).transpose(0, 2, 1, 3) * scale
        qk = q @ k
        w = mx.softmax(qk, axis=-1, precise=True)
        out = (w @ v).transpose(0, 2, 1, 3).reshape(batch, tokens, state)
        return self.out(out), (k, v), qk


class FastResidualAttentionBlock:
    """mlx-audio's block: the fast GELU, and the whole encoder block in numpy."""

    def __call__(self, x, xa=None, mask=None, kv_cache=None):
        import mlx.core as mx

        encoder = xa is None and mask is None and kv_cache is None and self.cross_attn is None
        if encoder and x.dtype == mx.float32 and self.attn.query.weight.dtype == mx.float32:
            return _encoder_block(self, x), (None, None), None
        kv, cross_kv = kv_cache if kv_cache else (None, None)
        y, kv, _ = self.attn(self.attn_ln(x), mask=mask, kv_cache=kv)
        x += y
        cross_qk = None
        if self.cross_attn:
            y, cross_kv, cross_qk = self.cross_attn(self.cross_attn_ln(x), xa, kv_cache=cross_kv)
            x += y
        x = x + self.mlp2(kernels.gelu(self.mlp1(self.mlp_ln(x))))
        return x, (kv, cross_kv), cross_qk


def _encoder_block(block, x):
    """One encoder block over (batch, 1500, state) in numpy; returns an MLX array.

    Its products (1500 x 384 x 384..1536 for tiny) run ~1.7x faster in numpy's
    OpenBLAS than through MLX's; the 1500 x 1500 attention scores are soft-maxed
    with numpy's vectorised exp (MLX-CPU's is scalar: ~150 ms per layer). The GELU
    stays in numpy too: MLX's compiled one is faster alone (6 vs 14 ms), but handing
    work to MLX's thread while numpy's BLAS threads still spin cost more (block 83 ->
    70 ms, measured). The weights are used in place (``W.T`` views), never copied.
    """
    import mlx.core as mx
    import numpy as np

    mx.eval(x)
    batch, frames, state = x.shape
    heads = block.attn.n_head
    width = state // heads
    weights = _block_weights(block)
    signal = np.array(x, dtype=np.float32).reshape(batch * frames, state)  # a copy we own
    h = _layer_norm(signal, weights["attn_ln"])
    q = _linear(h, weights["attn.query"])
    q *= np.float32(width**-0.5)
    k = _linear(h, weights["attn.key"])
    v = _linear(h, weights["attn.value"])
    attended = np.empty_like(q)
    # One head at a time: a 1500 x 1500 score matrix stays in cache (2x faster than
    # all heads in one batched product, measured).
    for b in range(batch):
        rows = slice(b * frames, (b + 1) * frames)
        for start in range(0, state, width):
            head = slice(start, start + width)
            scores = q[rows, head] @ k[rows, head].T
            kernels.softmax_numpy(scores)
            np.matmul(scores, v[rows, head], out=attended[rows, head])
    signal += _linear(attended, weights["attn.out"])
    hidden = _linear(_layer_norm(signal, weights["mlp_ln"]), weights["mlp1"])
    signal += _linear(_gelu_numpy(hidden), weights["mlp2"])
    return mx.array(signal.reshape(batch, frames, state))


def _block_weights(block) -> dict:
    """numpy views of an encoder block's weights, made once per block."""
    return kernels.cached_on(block, block.attn.query.weight, lambda: _build_block_weights(block))


def _build_block_weights(block) -> dict:
    import mlx.core as mx
    import numpy as np

    mx.eval(block.parameters())

    def linear(layer):
        return (np.asarray(layer.weight), np.asarray(layer.bias) if "bias" in layer else None)

    def norm(layer):
        return (np.asarray(layer.weight), np.asarray(layer.bias), layer.eps)

    weights = {"attn_ln": norm(block.attn_ln), "mlp_ln": norm(block.mlp_ln)}
    for name in ("query", "key", "value", "out"):
        weights[f"attn.{name}"] = linear(getattr(block.attn, name))
    weights["mlp1"], weights["mlp2"] = linear(block.mlp1), linear(block.mlp2)
    return weights


class FastAudioEncoder:
    """mlx-audio's encoder with the fast GELU after both convolutions."""

    def __call__(self, x):
        x = kernels.gelu(self.conv1(x))
        x = kernels.gelu(self.conv2(x))
        assert x.shape[1:] == self._positional_embedding.shape, "incorrect audio shape"
        x = x + self._positional_embedding
        for block in self.blocks:
            x, _, _ = block(x)
        return self.ln_post(x)


class FastTextDecoder:
    """mlx-audio's decoder, run in numpy.

    One token is a chain of ~150 small matrix-vector products and vector ops over the
    same weights (numpy views of the MLX arrays, no copies). MLX-CPU spends ~40 us of
    dispatch per op on them and calls a slower BLAS for the 51864-wide vocabulary
    projection; numpy does the whole step in ~1/3 of the time (measured on tiny).
    A prompt (the first step of a window, word alignment, language detection) is the
    same maths over n tokens with a causal mask. The cache keeps mlx-audio's layout
    for self-attention and FastCrossAttention's for cross-attention, as numpy arrays:
    only this decoder reads it, and beam search's re-indexing along axis 0 works on
    them. Anything not fp32, or several new tokens on top of a cache (which mlx-audio
    never asks for), goes through MLX as before.
    """

    def __call__(self, x, xa, kv_cache=None):
        import mlx.core as mx

        usable = kv_cache is None or x.shape[-1] == 1
        if not usable or self.token_embedding.weight.dtype != mx.float32 or xa.dtype != mx.float32:
            return super().__call__(x, xa, kv_cache=kv_cache)
        return _numpy_forward(self, x, xa, kv_cache)


def _numpy_forward(decoder, tokens, xa, kv_cache):
    import mlx.core as mx
    import numpy as np

    mx.eval(tokens, xa, kv_cache)
    weights = _numpy_weights(decoder)
    ids = np.asarray(tokens)
    # One new token: small products that finish before a second BLAS thread wakes up.
    threads = kernels.set_numpy_blas_threads(1) if kv_cache is not None else None
    try:
        x, new_cache, cross_qk = _numpy_blocks(weights, ids, np.asarray(xa), kv_cache)
    finally:
        if threads is not None:
            kernels.set_numpy_blas_threads(threads)
    x = _layer_norm(x, weights["ln"])
    logits = _linear(x, (weights["embedding"], None))  # 51864 x 384: large enough for threads
    return mx.array(logits), new_cache, [mx.array(qk) for qk in cross_qk]


def _numpy_blocks(weights, ids, audio, kv_cache):
    """(batch, n, state) hidden states, the new cache and each layer's cross-attention scores."""
    import numpy as np

    batch, count = ids.shape
    offset = 0 if kv_cache is None else kv_cache[0][0][0].shape[1]
    x = weights["embedding"][ids] + weights["positions"][offset : offset + count]
    new_cache, cross_qk = [], []
    for index, block in enumerate(weights["blocks"]):
        heads = block["heads"]
        h = _layer_norm(x, block["attn_ln"])
        q, k, v = (
            _linear(h, block["attn.query"]),
            _linear(h, block["attn.key"]),
            _linear(h, block["attn.value"]),
        )
        if kv_cache is None:
            self_k, self_v = k, v
            cross_k, cross_v = _cross_cache(audio, block, heads)
        else:
            (self_k, self_v), (cross_k, cross_v) = kv_cache[index]
            self_k = np.concatenate([np.asarray(self_k), k], axis=1)
            self_v = np.concatenate([np.asarray(self_v), v], axis=1)
            cross_k, cross_v = np.asarray(cross_k), np.asarray(cross_v)
        x = x + _linear(_self_attention(q, self_k, self_v, heads), block["attn.out"])
        h = _layer_norm(x, block["cross_attn_ln"])
        attended, qk = _cross_attention(_linear(h, block["cross_attn.query"]), cross_k, cross_v, heads)
        x = x + _linear(attended, block["cross_attn.out"])
        h = _linear(_layer_norm(x, block["mlp_ln"]), block["mlp1"])
        x = x + _linear(_gelu_numpy(h), block["mlp2"])
        new_cache.append(((self_k, self_v), (cross_k, cross_v)))
        cross_qk.append(qk)
    return x, new_cache, cross_qk


def _cross_cache(audio, block, heads):
    """The audio's keys (scaled, (b, h, w, frames)) and values ((b, h, frames, w)) for one layer.

    Written into the cache one window at a time: made for the whole batch at once, each
    layer's projections, their transposed copies and the scaled keys were three more
    batch-sized arrays beside the cache (~37 MB at batch 8 for tiny), and a batch of 8
    took that much more memory than a short recording's batch of 3 or 5.
    """
    import numpy as np

    batch, frames, state = audio.shape
    width = state // heads
    k = np.empty((batch, heads, width, frames), np.float32)
    v = np.empty((batch, heads, frames, width), np.float32)
    for window in range(batch):
        keys = _linear(audio[window], block["cross_attn.key"]).reshape(frames, heads, width)
        np.multiply(keys.transpose(1, 2, 0), np.float32(width**-0.25), out=k[window])
        values = _linear(audio[window], block["cross_attn.value"]).reshape(frames, heads, width)
        v[window] = values.transpose(1, 0, 2)
    return k, v


def _numpy_weights(decoder) -> dict:
    """numpy views of the decoder's (evaluated, fp32) weights, made once per model."""
    return kernels.cached_on(decoder, decoder.token_embedding.weight, lambda: _build_decoder_weights(decoder))


def _build_decoder_weights(decoder) -> dict:
    import mlx.core as mx
    import numpy as np

    mx.eval(decoder.parameters(), decoder.positional_embedding)

    def view(array):
        return np.asarray(array)

    def linear(layer):
        return (view(layer.weight), view(layer.bias) if "bias" in layer else None)

    def norm(layer):
        return (view(layer.weight), view(layer.bias), layer.eps)

    blocks = []
    for block in decoder.blocks:
        entry = {"heads": block.attn.n_head}
        for name in ("attn_ln", "cross_attn_ln", "mlp_ln"):
            entry[name] = norm(getattr(block, name))
        for attention in ("attn", "cross_attn"):
            for name in ("query", "key", "value", "out"):
                entry[f"{attention}.{name}"] = linear(getattr(getattr(block, attention), name))
        entry["mlp1"], entry["mlp2"] = linear(block.mlp1), linear(block.mlp2)
        blocks.append(entry)
    weights = {
        "embedding": view(decoder.token_embedding.weight),
        "positions": view(decoder.positional_embedding),
        "blocks": blocks,
        "ln": norm(decoder.ln),
    }
    return weights


def _linear(x, layer):
    """x @ W.T + b, as one 2-D product whatever x's leading axes.

    numpy runs a (batch, 1, state) @ (state, out) product as ``batch`` separate
    matrix-vector products, each reading all of W: for 8 windows decoded at once the
    51864-wide vocabulary projection read 80 MB eight times a token. Flattened, W is
    read once for the whole batch.
    """
    weight, bias = layer
    y = (x.reshape(-1, x.shape[-1]) @ weight.T).reshape(*x.shape[:-1], weight.shape[0])
    if bias is not None:
        y += bias
    return y


def _layer_norm(x, layer):
    import numpy as np

    weight, bias, eps = layer
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(variance + np.float32(eps)) * weight + bias


def _self_attention(q, k, v, heads):
    """n queries (the last n positions) against all cached positions, causally: (batch, n, state)."""
    import numpy as np

    batch, length, state = k.shape
    count = q.shape[1]
    width = state // heads
    qh = q.reshape(batch, count, heads, width).transpose(0, 2, 1, 3) * np.float32(width**-0.5)
    kh = k.reshape(batch, length, heads, width).transpose(0, 2, 3, 1)
    vh = v.reshape(batch, length, heads, width).transpose(0, 2, 1, 3)
    scores = qh @ kh  # (batch, heads, n, length)
    if count > 1:  # query i sits at position length - n + i and sees nothing after it
        later = np.triu(np.ones((count, length), bool), k=length - count + 1)
        scores[..., later] = -np.inf
    w = kernels.softmax_numpy(scores)
    return (w @ vh).transpose(0, 2, 1, 3).reshape(batch, count, state)


def _cross_attention(q, k, v, heads):
    """Against FastCrossAttention's cache: k pre-scaled (b, h, w, frames), v (b, h, frames, w)."""
    import numpy as np

    batch, count, state = q.shape
    width = state // heads
    qh = q.reshape(batch, count, heads, width).transpose(0, 2, 1, 3) * np.float32(width**-0.25)
    qk = qh @ k
    w = kernels.softmax_numpy(qk.copy())
    return (w @ v).transpose(0, 2, 1, 3).reshape(batch, count, state), qk


def _gelu_numpy(x):
    """kernels' erf GELU in numpy (a 1536-wide vector: no compile needed)."""
    import numpy as np

    z = np.clip(x * np.float32(0.7071067811865476), -4.0, 4.0)
    z2 = z * z
    p = np.float32(kernels.ERF_P[0])
    for c in kernels.ERF_P[1:]:
        p = p * z2 + np.float32(c)
    q = np.float32(kernels.ERF_Q[0])
    for c in kernels.ERF_Q[1:]:
        q = q * z2 + np.float32(c)
    return x * (1.0 + z * p / q) * np.float32(0.5)


# -- the decoding loop's per-token bookkeeping -------------------------------------


class FastWhisper:
    """mlx-audio's Whisper whose ``decode`` runs the per-token rules in numpy."""

    def decode(self, mel, options=None, **kwargs):
        from dataclasses import replace

        decoding = sys.modules[_DECODING_MODULE]
        if options is None:
            options = decoding.DecodingOptions()
        if single := mel.ndim == 2:
            mel = mel[None]
        if kwargs:
            options = replace(options, **kwargs)
        result = _fast_task(decoding)(self, options).run(mel)
        return result[0] if single else result


_DECODING_MODULE = "mlx_audio.stt.models.whisper.decoding"


@functools.cache
def _fast_task(decoding):
    class FastDecodingTask(decoding.DecodingTask):
        """The stock task, with the timestamp rules and greedy choice in numpy.

        Each of them runs once per token over the 51864 logits; in MLX-CPU their
        logsumexps (scalar exp) and a dozen small ops cost ~2 ms a token, in numpy
        ~0.2 ms. Sampling (temperature > 0) keeps MLX's random generator.
        """

        def __init__(self, model, options):
            super().__init__(model, options)
            self.logit_filters = [
                _numpy_timestamp_rules(decoding, f) if type(f) is decoding.ApplyTimestampRules else f
                for f in self.logit_filters
            ]
            if type(self.decoder) is decoding.GreedyDecoder and self.decoder.temperature == 0:
                self.decoder = NumpyGreedyDecoder(self.decoder.eot)

    return FastDecodingTask


def _numpy_timestamp_rules(decoding, rules):
    tokenizer = rules.tokenizer
    return NumpyTimestampRules(
        sample_begin=rules.sample_begin,
        max_initial_timestamp_index=rules.max_initial_timestamp_index,
        timestamp_begin=tokenizer.timestamp_begin,
        eot=tokenizer.eot,
        no_timestamps=tokenizer.no_timestamps,
    )


class NumpyTimestampRules:
    """mlx-audio's ApplyTimestampRules, rule for rule, on numpy arrays.

    The tokenizer's special ids are looked up once (the stock filter asks the
    tokenizer for ``timestamp_begin`` once per token of the sequence, every step).
    """

    def __init__(self, sample_begin, max_initial_timestamp_index, timestamp_begin, eot, no_timestamps):
        self.sample_begin = sample_begin
        self.max_initial_timestamp_index = max_initial_timestamp_index
        self.timestamp_begin = timestamp_begin
        self.eot = eot
        self.no_timestamps = no_timestamps

    def apply(self, logits, tokens):
        import mlx.core as mx
        import numpy as np

        begin = self.timestamp_begin
        scores = np.array(logits, dtype=np.float32)  # a writable copy
        mask = np.zeros(scores.shape, np.float32)
        if self.no_timestamps is not None:
            mask[:, self.no_timestamps] = -np.inf
        rows = tokens.tolist()
        for k, row in enumerate(rows):
            seq = row[self.sample_begin :]
            last_was_timestamp = len(seq) >= 1 and seq[-1] >= begin
            penultimate_was_timestamp = len(seq) < 2 or seq[-2] >= begin
            if last_was_timestamp:
                if penultimate_was_timestamp:
                    mask[k, begin:] = -np.inf
                else:
                    mask[k, : self.eot] = -np.inf
            timestamps = [i for i, v in enumerate(seq) if v > begin]
            if timestamps:
                last_timestamp = timestamps[-1]
                if not last_timestamp or penultimate_was_timestamp:
                    last_timestamp += 1
                mask[k, begin:last_timestamp] = -np.inf
        if len(rows[0]) == self.sample_begin:
            mask[:, :begin] = -np.inf
            if self.max_initial_timestamp_index is not None:
                mask[:, begin + self.max_initial_timestamp_index + 1 :] = -np.inf
        logprobs = scores - _logsumexp(scores)
        timestamp_logprob = _logsumexp(logprobs[:, begin:])
        max_text_token_logprob = logprobs[:, :begin].max(axis=-1, keepdims=True)
        text_masked = (timestamp_logprob > max_text_token_logprob)[:, 0]
        mask[text_masked, :begin] = -np.inf
        return mx.array(scores + mask)


class NumpyGreedyDecoder:
    """mlx-audio's GreedyDecoder at temperature 0, on numpy arrays."""

    temperature = 0.0

    def __init__(self, eot):
        self.eot = eot

    def reset(self):
        pass

    def update(self, tokens, logits, sum_logprobs):
        import mlx.core as mx
        import numpy as np

        scores = np.asarray(logits, dtype=np.float32)
        ids = np.asarray(tokens)
        next_tokens = scores.argmax(axis=-1)
        with np.errstate(invalid="ignore"):  # fully masked rows (-inf - -inf): ended anyway
            logprobs = scores - _logsumexp(scores)
        current = logprobs[np.arange(len(scores)), next_tokens]
        sums = np.asarray(sum_logprobs, dtype=np.float32) + current * (ids[:, -1] != self.eot)
        ended = ids[:, -1] == self.eot
        next_tokens = np.where(ended, self.eot, next_tokens).astype(ids.dtype)
        ids = np.concatenate([ids, next_tokens[:, None]], axis=-1)
        completed = bool((ids[:, -1] == self.eot).all())
        return mx.array(ids), mx.array(completed), mx.array(sums.astype(np.float32))

    def finalize(self, tokens, sum_logprobs):
        import mlx.core as mx

        tokens = mx.pad(tokens, [(0, 0), (0, 0), (0, 1)], constant_values=self.eot)
        return tokens, sum_logprobs


def _logsumexp(x):
    import numpy as np

    top = x.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    # A row with every logit masked (-inf) has no probability at all: -inf, quietly.
    with np.errstate(divide="ignore", invalid="ignore"):
        return top + np.log(np.exp(x - top).sum(axis=-1, keepdims=True))
