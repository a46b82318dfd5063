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
from collections.abc import Iterable
from pathlib import Path

# -- Whisper -------------------------------------------------------------------

# The 99 language tokens of every pre-large-v3 Whisper vocabulary (English-only
# models carry them too), in the order Whisper numbers them after <|startoftranscript|>.
_WHISPER_LANGUAGES = [
    "en",
    "zh",
    "de",
    "es",
    "ru",
    "ko",
    "fr",
    "ja",
    "pt",
    "tr",
    "pl",
    "ca",
    "nl",
    "ar",
    "sv",
    "it",
    "id",
    "hi",
    "fi",
    "vi",
    "he",
    "uk",
    "el",
    "ms",
    "cs",
    "ro",
    "da",
    "hu",
    "ta",
    "no",
    "th",
    "ur",
    "hr",
    "bg",
    "lt",
    "la",
    "mi",
    "ml",
    "cy",
    "sk",
    "te",
    "fa",
    "lv",
    "bn",
    "sr",
    "az",
    "sl",
    "kn",
    "et",
    "mk",
    "br",
    "eu",
    "is",
    "hy",
    "ne",
    "mn",
    "bs",
    "kk",
    "sq",
    "sw",
    "gl",
    "mr",
    "pa",
    "si",
    "km",
    "sn",
    "yo",
    "so",
    "af",
    "oc",
    "ka",
    "be",
    "tg",
    "sd",
    "gu",
    "am",
    "yi",
    "lo",
    "uz",
    "fo",
    "ht",
    "ps",
    "tk",
    "nn",
    "mt",
    "sa",
    "lb",
    "my",
    "bo",
    "tl",
    "mg",
    "as",
    "tt",
    "haw",
    "ln",
    "ha",
    "ba",
    "jw",
    "su",
]

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


def _byte_level_alphabet() -> list[str]:
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


def _whisper_text_tokens() -> tuple[list[str], list[tuple[str, str]]]:
    """Byte-level BPE text tokens and merges: the 256 bytes, then space + each byte.

    The space-prefixed tokens matter: Whisper's decoder suppresses the first token of
    " -", " '" and " ♪" as "non-speech"; with bytes alone that token is the bare
    space, and a model that may never write a space never writes a second word.
    """
    alphabet = _byte_level_alphabet()
    space = "\u0120"  # "Ġ": how byte-level BPE writes the space byte
    merges = [(space, char) for char in alphabet]
    return alphabet + [a + b for a, b in merges], merges


def whisper_vocabulary() -> list[str]:
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


def _whisper_tokenizer_json(vocabulary: list[str]) -> dict:
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
            for token in vocabulary[len(text_vocab) :]
        ]
    )
    data = json.loads(tokenizer.to_str())
    for entry in data["added_tokens"]:
        assert vocabulary[entry["id"]] == entry["content"], entry
    return data


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _write_whisper_processor(dest: Path, vocabulary: list[str]) -> None:
    """The files transformers' WhisperProcessor.from_pretrained reads."""
    from llm_mlx_audio.engine.importers.ctranslate2_whisper import write_processor_files

    write_processor_files(dest, _whisper_tokenizer_json(vocabulary), TINY_WHISPER_DIMS["n_mels"])


def _whisper_decoder_shaping(
    weights: dict[str, object],
    vocabulary: list[str],
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

    Left random, the 1501 timestamps together outweigh any text token, and
    mlx-audio's ApplyTimestampRules (which weighs timestamps against text on the
    logits *before* applying its own mask) then masks every token: NaN
    log-probabilities and token 0 ("!") to the end. Shaped, the decoder writes
    ``<|t0|> words <|T|><|endoftext|>`` per 30-s window: t0 <= 1 s, about 7-25
    printable ASCII tokens, T mostly 1-2 s, average log-probability about -0.7
    (above the -1 that sends mlx-audio to its temperature fallbacks). Ending on a single
    timestamp makes mlx-audio move on by a whole window, with or without word
    timestamps, so a clip costs one decode per 30 s.

    Whisper ties its output layer to the token embedding and has no output bias,
    so four residual channels are reserved: only the token embedding (and, for
    channel 3, the position) writes to them, and the final LayerNorm reads them:

    0. weight 0, bias ``channel``: a constant, so a token's embedding there is a
       logit offset. Printable text 0 (letters ``letter_bias``), other text and
       control tokens ``control_bias``, <|endoftext|> ``eot_bias``, timestamps
       <= 1 s ``control_bias`` (taken only when forced, first), later ones
       ``timestamp_bias - timestamp_slope * (seconds - 1)``.
    1. weight ``-marker_gain``: timestamps after 1 s carry ``marker``,
       <|endoftext|> ``-marker``: right after such a timestamp, timestamps sink
       and <|endoftext|> rises, so the segment ends.
    2. weight ``-marker_gain``: every timestamp carries ``marker``: right after
       the first one, timestamps sink, so text follows.
    3. weight 1: the position ramps from 0 to ``ramp`` over the context and later
       timestamps carry ``ramp_gain``: the longer the text, the likelier a
       timestamp, so every decode ends well before ``n_text_ctx // 2`` tokens.

    The other channels are random (LayerNorm weights of random sign, or the
    decoder repeats the token it just wrote); ``sharpness`` scales the whole
    LayerNorm, hence every logit.
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
    """Write a tiny English-only Whisper to dest and return dest.

    Files: config.json, model.safetensors (float32; mlx-audio casts to its float16
    default when loading), generation_config.json (alignment heads) and the
    WhisperProcessor files (tokenizer.json, vocab.json, merges.txt,
    tokenizer_config.json, preprocessor_config.json). Same seed, same bytes.
    """
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
    _whisper_decoder_shaping(weights, vocabulary, rng)
    mx.save_safetensors(str(dest / "model.safetensors"), weights, metadata={"format": "mlx"})
    _write_json(dest / "config.json", config)
    _write_json(
        dest / "generation_config.json",
        {
            "alignment_heads": [[0, head] for head in range(TINY_WHISPER_DIMS["n_text_head"])],
            "decoder_start_token_id": vocabulary.index("<|startoftranscript|>"),
            "eos_token_id": vocabulary.index(_EOT),
            "no_timestamps_token_id": vocabulary.index("<|notimestamps|>"),
            "is_multilingual": False,
            "max_length": TINY_WHISPER_DIMS["n_text_ctx"],
        },
    )
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
    "decoder_out_dim": 16,
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
        "upsample_initial_channel": 16,
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "upsample_kernel_sizes": [20, 12],
        "gen_istft_n_fft": 20,
        "gen_istft_hop_size": 5,
    },
}


def _kitten_weights(
    weights: dict[str, object],
    rng,
    out_gain: float = 0.3,
    frames_per_phoneme: float = 4.0,
    duration_spread: float = 0.5,
) -> None:
    """Make the random kitten_tts produce finite, audible, length-controlled audio.

    * mlx-audio initialises every weight-normed convolution to all-ones kernels,
      which multiply the signal at each layer (about 1e4 at the vocoder's output,
      then ``exp`` of it is inf and the audio NaN); random directions with unit
      gain keep the signal near 1.
    * The vocoder's last convolution makes log-magnitudes and phases for the
      inverse STFT: gain ``out_gain`` keeps them near 0, so the audio has an RMS
      of about 0.05 and peaks under 0.5, and still depends on text and voice.
    * The harmonic/noise source reaches the vocoder only through ``noise_convs``
      and the residual blocks ``noise_res``; zeroing the convolutions and the
      blocks' residual branches makes that contribution exactly 0, so the output
      is deterministic (the source still runs; a zero input to ``noise_res`` alone
      left a style-dependent constant whose edges made peaks of 40 and more).
    * Phoneme durations are ``sum(sigmoid(duration_proj(x))) / speed`` over 50
      bins, rounded, at least 1 frame (25 ms). Every bin gets the same bias
      (``frames_per_phoneme`` on average) and the same random weight row, so the
      bins move together and durations vary from phoneme to phoneme (with 50
      independent rows they average out to one constant).
    """
    import mlx.core as mx
    import numpy as np

    for name in list(weights):
        if name.endswith(".weight_v"):
            weights[name] = mx.array(rng.normal(0, 1, weights[name].shape).astype(np.float32))
    # The vocoder's harmonic source draws random phases and noise on every call
    # (real models sound slightly different each time); closing its only way into
    # the signal makes the same text and voice give the same samples.
    for name in list(weights):
        if name.startswith("decoder.generator.noise_convs.") or (
            name.startswith("decoder.generator.noise_res.")
            and ".convs2." in name
            and name.endswith((".weight_g", ".bias"))
        ):
            weights[name] = mx.zeros(weights[name].shape)
    post = "decoder.generator.conv_post"
    weights[f"{post}.weight_g"] = mx.full(weights[f"{post}.weight_g"].shape, out_gain)
    weights[f"{post}.bias"] = mx.zeros(weights[f"{post}.bias"].shape)

    proj = "predictor.duration_proj.linear_layer"
    bins, width = weights[f"{proj}.weight"].shape
    row = rng.normal(0, duration_spread / np.sqrt(width), width).astype(np.float32)
    weights[f"{proj}.weight"] = mx.array(np.tile(row, (bins, 1)))
    mean = frames_per_phoneme / bins
    weights[f"{proj}.bias"] = mx.full((bins,), float(np.log(mean / (1 - mean))))


def build_tiny_kitten(dest: Path, seed: int = 0, voices: Iterable[str] = KITTEN_VOICES) -> Path:
    """Write a tiny kitten_tts model (random weights) with the given voices to dest; return dest.

    Voices are random (400, 256) float32 tables in voices.npz, one row per text
    length as kitten_tts reads them: columns 0-127 style the decoder, 128-255 the
    prosody predictor.
    """
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
    _kitten_weights(weights, rng)
    mx.save_safetensors(str(dest / "model.safetensors"), weights, metadata={"format": "mlx"})
    _write_json(dest / "config.json", config)
    np.savez(
        dest / "voices.npz",
        **{name: rng.normal(0, 0.2, (400, 256)).astype(np.float32) for name in voices},
    )
    return dest
