"""Tiny random-weight models of real mlx-audio architectures, for fast tests.

Real speech models take seconds to load and run on a CPU; these take well under a
second each and go through exactly the path a real model takes: an ordinary model
folder (config.json, model.safetensors, processor or voice files) loaded by
mlx-audio's own loader, then the model's own ``generate``. Their output is noise
or garbage text: tests check structure and behaviour, never content.

Plain functions, no pytest: conftest fixtures call them. MLX is imported inside the
functions, and everything a builder does with MLX happens on the calling thread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

# -- Whisper -------------------------------------------------------------------

# The 99 language tokens of every pre-large-v3 Whisper vocabulary (English-only
# models carry them too), in the order Whisper numbers them after <|startoftranscript|>.
_WHISPER_LANGUAGES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu "
    "ta no th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn "
    "bs kk sq sw gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn "
    "mt sa lb my bo tl mg as tt haw ln ha ba jw su"
).split()

_WHISPER_TASK_TOKENS = (
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",  # <|nospeech|> in large-v3; English-only models use this name
    "<|notimestamps|>",
)

_EOT = "<|endoftext|>"

TINY_WHISPER_DIMS = {
    "n_mels": 80,
    "n_audio_ctx": 1500,  # mlx-audio asserts 30-s windows of 1500 encoder frames
    "n_audio_state": 64,
    "n_audio_head": 2,
    "n_audio_layer": 1,
    "n_text_ctx": 64,  # bounds every decode: at most n_text_ctx // 2 sampled tokens
    "n_text_state": 64,
    "n_text_head": 2,
    "n_text_layer": 1,
}


def _byte_level_alphabet() -> List[str]:
    """GPT-2's byte -> printable character map, in GPT-2's (and Whisper's) id order."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = [chr(b) for b in printable]
    extra = 0
    for b in range(256):
        if b not in printable:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def _whisper_text_tokens() -> Tuple[List[str], List[Tuple[str, str]]]:
    """Byte-level BPE text tokens and merges: the 256 bytes, then space + each byte.

    The space-prefixed tokens matter: Whisper's decoder suppresses the first token of
    " -", " '" and " ♪" as "non-speech"; with bytes alone that token is the bare
    space, and a model that may never write a space never writes a second word.
    """
    alphabet = _byte_level_alphabet()
    space = "\u0120"  # "Ġ": how byte-level BPE writes the space byte
    merges = [(space, char) for char in alphabet]
    return alphabet + [a + b for a, b in merges], merges


def whisper_vocabulary() -> List[str]:
    """Every token of the tiny English-only Whisper vocabulary, index = id.

    Same layout as Whisper's: text tokens, then <|endoftext|>, <|startoftranscript|>,
    the language tokens, the task and control tokens, and the 1501 timestamps last.
    mlx-audio relies on that order (text < eot, timestamps >= <|0.00|>).
    """
    tokens, _ = _whisper_text_tokens()
    tokens += [_EOT, "<|startoftranscript|>"]
    tokens += [f"<|{code}|>" for code in _WHISPER_LANGUAGES]
    tokens += list(_WHISPER_TASK_TOKENS)
    tokens += [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
    return tokens


def _whisper_tokenizer_json(vocabulary: List[str]) -> dict:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    text_tokens, merges = _whisper_text_tokens()
    text_vocab = {token: index for index, token in enumerate(text_tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=text_vocab, merges=merges, fuse_unk=False))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    # Added in id order, so each lands on its Whisper id; timestamps are not
    # "special" (as in HF's Whisper tokenizers), everything else is.
    tokenizer.add_tokens(
        [
            AddedToken(token, special=not token[2:-2].replace(".", "").isdigit(), normalized=False)
            for token in vocabulary[len(text_vocab):]
        ]
    )
    data = json.loads(tokenizer.to_str())
    for entry in data["added_tokens"]:
        assert vocabulary[entry["id"]] == entry["content"], entry
    return data


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _write_whisper_processor(dest: Path, vocabulary: List[str]) -> None:
    """The files transformers' WhisperProcessor.from_pretrained reads."""
    tokenizer = _whisper_tokenizer_json(vocabulary)
    (dest / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    _write_json(dest / "vocab.json", tokenizer["model"]["vocab"])
    (dest / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    _write_json(
        dest / "tokenizer_config.json",
        {
            "tokenizer_class": "WhisperTokenizer",
            "processor_class": "WhisperProcessor",
            "model_max_length": TINY_WHISPER_DIMS["n_text_ctx"],
            "bos_token": _EOT,
            "eos_token": _EOT,
            "unk_token": _EOT,
            "pad_token": _EOT,
            "add_prefix_space": False,
            "errors": "replace",
            "clean_up_tokenization_spaces": False,
            "added_tokens_decoder": {
                str(entry["id"]): {k: v for k, v in entry.items() if k != "id"}
                for entry in tokenizer["added_tokens"]
            },
        },
    )
    _write_json(
        dest / "preprocessor_config.json",
        {
            "feature_extractor_type": "WhisperFeatureExtractor",
            "processor_class": "WhisperProcessor",
            "feature_size": TINY_WHISPER_DIMS["n_mels"],
            "sampling_rate": 16000,
            "hop_length": 160,
            "n_fft": 400,
            "chunk_length": 30,
            "n_samples": 480000,
            "nb_max_frames": 3000,
            "padding_side": "right",
            "padding_value": 0.0,
            "return_attention_mask": False,
        },
    )


SHAPE = {}


def _whisper_decoder_shaping(
    weights: Dict[str, "object"],
    vocabulary: List[str],
    rng,
    spread: float = 0.25,
    letter_bias: float = 1.0,
    eot_bias: float = -4.0,
    timestamp_bias: float = -9.0,
    timestamp_slope: float = 2.5,
    control_bias: float = -30.0,
    marker: float = 4.0,
    marker_gain: float = 4.0,
    ramp: float = 4.0,
    ramp_gain: float = 4.0,
    sharpness: float = 2.0,
    channel: float = 30.0,
) -> None:
    """Turn the random decoder into one that writes well-formed Whisper output.

    A random decoder spreads its probability evenly, so the 1501 timestamps outweigh
    the text together and mlx-audio's ApplyTimestampRules (which compares the
    timestamp mass with the best text token on the logits *before* its own mask)
    then masks every token: NaN log-probabilities and token 0 ("!") forever. Here
    the decoder instead writes ``<|t0|> some words <|T|><|endoftext|>``: t0 <= 1 s,
    printable ASCII words, one segment per 30-s window, which ends on a single
    timestamp so mlx-audio moves to the next window (word timestamps included).

    Whisper ties its output layer to the token embedding and has no output bias,
    so three residual channels are reserved (nothing but the token embedding
    writes to them; the final LayerNorm reads them as below):

    * channel 0, LayerNorm weight 0 and bias ``channel``: a constant, so each
      token's embedding there (offset / ``channel``) is a logit offset. Offsets:
      printable text 0 (letters ``letter_bias``), other text and control tokens
      ``control_bias``, <|endoftext|> ``eot_bias``, timestamps <= 1 s
      ``control_bias`` (they are only taken when forced, at the start), later ones
      ``timestamp_bias - timestamp_slope * (seconds - 1)``.
    * channel 1, LayerNorm weight ``-marker_gain``: timestamps after 1 s carry
      ``marker`` and <|endoftext|> ``-marker``, so right after such a timestamp the
      timestamps sink and <|endoftext|> rises: the segment ends there.
    * channel 2, same gain: timestamps <= 1 s carry ``marker`` and every later one
      too, so right after the first timestamp text wins (no empty segments, and no
      all-masked step).
    """
    import mlx.core as mx
    import numpy as np

    width = TINY_WHISPER_DIMS["n_text_state"]
    eot = vocabulary.index(_EOT)
    first_timestamp = vocabulary.index("<|0.00|>")
    seconds = np.arange(len(vocabulary) - first_timestamp) * 0.02
    early = first_timestamp + np.nonzero(seconds <= 1.0 + 1e-6)[0]
    late = first_timestamp + np.nonzero(seconds > 1.0 + 1e-6)[0]

    offsets = np.full(len(vocabulary), control_bias, np.float32)
    for index, token in enumerate(vocabulary[:eot]):
        text = token.replace("\u0120", " ")
        if text.strip() and text.isascii() and text.isprintable():
            offsets[index] = letter_bias if text.strip().isalpha() else 0.0
    offsets[eot] = eot_bias
    offsets[late] = timestamp_bias - timestamp_slope * (seconds[late - first_timestamp] - 1.0)

    embedding = rng.normal(0, spread, (len(vocabulary), width)).astype(np.float32)
    embedding[:, 0] = offsets / channel
    embedding[:, 1:4] = 0.0
    embedding[late, 3] = ramp_gain
    embedding[late, 1] = marker
    embedding[eot, 1] = -marker
    embedding[early, 2] = marker
    embedding[late, 2] = marker
    # Random signs: with all-positive weights the tied output layer favours the
    # token just written, and the decoder repeats one token.
    ln_weight = rng.choice(np.array([-1.0, 1.0], np.float32), width)
    ln_weight[0] = 0.0
    ln_weight[1:3] = -marker_gain
    ln_weight[3] = 1.0
    ln_bias = np.zeros(width, np.float32)
    ln_bias[0] = channel
    weights["decoder.token_embedding.weight"] = mx.array(embedding)
    weights["decoder.ln.weight"] = mx.array(ln_weight * sharpness)
    weights["decoder.ln.bias"] = mx.array(ln_bias * sharpness)

    # Keep the reserved channels to the token embedding alone.
    positions = rng.normal(0, 0.5, weights["decoder.positional_embedding"].shape).astype(np.float32)
    positions[:, 0:4] = 0.0
    positions[:, 3] = np.linspace(0.0, ramp, len(positions))
    weights["decoder.positional_embedding"] = mx.array(positions)
    for name in list(weights):
        if name.startswith("decoder.blocks.") and (
            name.endswith(("attn.out.weight", "attn.out.bias", "mlp2.weight", "mlp2.bias"))
        ):
            values = np.array(weights[name])
            values[0:4] = 0.0
            weights[name] = mx.array(values)


def build_tiny_whisper(dest: Path, seed: int = 0) -> Path:
    """Write a tiny English-only Whisper (about 0.3 M parameters) to dest; return dest."""
    import mlx.core as mx
    import numpy as np
    from mlx.utils import tree_flatten
    from mlx_audio.stt.models.whisper.whisper import Model, ModelDimensions

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    vocabulary = whisper_vocabulary()
    config = {"model_type": "whisper", **TINY_WHISPER_DIMS, "n_vocab": len(vocabulary)}
    _write_whisper_processor(dest, vocabulary)

    mx.random.seed(seed)
    model = Model(ModelDimensions.from_dict(config), dtype=mx.float32)
    weights = dict(tree_flatten(model.parameters()))
    rng = np.random.default_rng(seed)
    _whisper_decoder_shaping(weights, vocabulary, rng, **SHAPE)
    mx.save_safetensors(str(dest / "model.safetensors"), weights, metadata={"format": "mlx"})
    _write_json(dest / "config.json", config)
    return dest


# -- kitten_tts ------------------------------------------------------------------

KITTEN_VOICES = ("expr-voice-2-f", "expr-voice-5-m")

# Real kitten_tts proportions where they set the audio's length and rate (24 kHz,
# 600 samples per duration frame, 50 duration bins, 256-wide voices split 128/128,
# the 178-symbol phoneme table), tiny widths everywhere else.
TINY_KITTEN_CONFIG = {
    "model_type": "kitten_tts",
    "hidden_dim": 32,
    "max_conv_dim": 32,
    "max_dur": 50,
    "n_layer": 1,
    "n_mels": 80,
    "n_token": 178,
    "style_dim": 128,
    "text_encoder_kernel_size": 5,
    "asr_res_dim": 16,
    "decoder_out_dim": 32,
    "sample_rate": 24000,
    "voices_path": "voices.npz",
    "plbert": {
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "max_position_embeddings": 512,
        "embedding_size": 16,
        "inner_group_num": 1,
        "num_hidden_groups": 1,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
    },
    "istftnet": {
        "resblock_kernel_sizes": [3, 7, 11],
        "upsample_rates": [10, 6],
        "upsample_initial_channel": 32,
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "upsample_kernel_sizes": [20, 12],
        "gen_istft_n_fft": 20,
        "gen_istft_hop_size": 5,
    },
}

KSHAPE = {}


def build_tiny_kitten(dest: Path, seed: int = 0, voices: Iterable[str] = KITTEN_VOICES) -> Path:
    """Write a tiny kitten_tts model (random weights) with the given voices to dest; return dest."""
    import mlx.core as mx
    import numpy as np
    from mlx.utils import tree_flatten
    from mlx_audio.tts.models.kitten_tts.kitten_tts import Model, ModelConfig

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    config = json.loads(json.dumps(TINY_KITTEN_CONFIG))
    mx.random.seed(seed)
    model = Model(ModelConfig.from_dict(config))
    weights = dict(tree_flatten(model.parameters()))
    rng = np.random.default_rng(seed)
    # mlx-audio initialises every weight-normed convolution to all-ones kernels, which
    # multiply the signal at each layer; random directions with unit gain keep it near 1.
    for name in list(weights):
        if name.endswith(".weight_v"):
            weights[name] = mx.array(rng.normal(0, 1, weights[name].shape).astype(np.float32))
    k = {"g": 0.0, "post_bias": 0.1, "dur_scale": 0.1, "dur_bias": -2.2, **KSHAPE}
    g = weights["decoder.generator.conv_post.weight_g"]
    weights["decoder.generator.conv_post.weight_g"] = mx.array(np.full(g.shape, k["g"], np.float32))
    b = weights["decoder.generator.conv_post.bias"]
    weights["decoder.generator.conv_post.bias"] = mx.array(rng.normal(0, k["post_bias"], b.shape).astype(np.float32))
    w = weights["predictor.duration_proj.linear_layer.weight"]
    weights["predictor.duration_proj.linear_layer.weight"] = w * k["dur_scale"]
    b = weights["predictor.duration_proj.linear_layer.bias"]
    weights["predictor.duration_proj.linear_layer.bias"] = mx.full(b.shape, k["dur_bias"])
    mx.save_safetensors(str(dest / "model.safetensors"), weights, metadata={"format": "mlx"})
    _write_json(dest / "config.json", config)
    np.savez(
        dest / "voices.npz",
        **{name: rng.normal(0, 0.2, (400, 256)).astype(np.float32) for name in voices},
    )
    return dest
