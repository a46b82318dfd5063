"""What kind of model is this folder or repo?

The heuristics of the server this plugin descends from (config keys, then
architectures, then model_type, then names), kept in ONE order used everywhere:
download, import and load all call detect_kind(). Two of the ancestor's flaws are
fixed: a CausalLM architecture never becomes audio because of its name, and the
audio split into speech / transcription / codec is part of the same pass.
Matching is lower-case substring matching, first match wins.
"""

from __future__ import annotations

import json
from pathlib import Path

TEXT = "text"
VISION = "vision"
EMBEDDINGS = "embeddings"
SPEECH = "speech"
TRANSCRIPTION = "transcription"
CODEC = "codec"
AUDIO = "audio"  # audio, but neither speech nor transcription (speech-to-speech, VAD...)

AUDIO_KINDS = (SPEECH, TRANSCRIPTION, CODEC, AUDIO)

_AUDIO_CONFIG_KEYS = ("audio_config", "tts_config", "stt_config", "vocoder_config", "codec_config")
_CODEC_KEYS = (
    "codebook_dim",
    "codebook_size",
    "vq_strides",
    "encoder_rates",
    "decoder_rates",
    "encoder_dim",
    "decoder_dim",
)

# Audio families with the job each does. More specific patterns come first, so
# "voxtral_tts" is speech although "voxtral" is transcription.
_AUDIO_FAMILIES: tuple[tuple[str, str], ...] = (
    ("voxtral_tts", SPEECH),
    ("voxtral-tts", SPEECH),
    ("vibevoice_asr", TRANSCRIPTION),
    ("vibevoice-asr", TRANSCRIPTION),
    ("qwen3_tts", SPEECH),
    ("qwen3_asr", TRANSCRIPTION),
    ("glm4_voice", AUDIO),
    ("kokoro", SPEECH),
    ("kitten", SPEECH),
    ("bark", SPEECH),
    ("speecht5", SPEECH),
    ("parler", SPEECH),
    ("sesame", SPEECH),
    ("spark", SPEECH),
    ("dia", SPEECH),
    ("outetts", SPEECH),
    ("chatterbox", SPEECH),
    ("vibevoice", SPEECH),
    ("voxcpm", SPEECH),
    ("soprano", SPEECH),
    ("pocket_tts", SPEECH),
    ("whisper", TRANSCRIPTION),
    ("parakeet", TRANSCRIPTION),
    ("voxtral", TRANSCRIPTION),
    ("moonshine", TRANSCRIPTION),
)

# Where the ancestor looked for each family: architecture names and model_type
# values are matched against different subsets ("dia" as a substring of an
# architecture would be too loose, and "glm" alone misfired on GLM-4.7-Flash).
_ARCHITECTURE_FAMILIES = (
    "voxtral_tts",
    "vibevoice_asr",
    "kokoro",
    "kitten",
    "whisper",
    "bark",
    "speecht5",
    "parler",
    "sesame",
    "spark",
    "dia",
    "outetts",
    "chatterbox",
    "parakeet",
    "voxtral",
    "vibevoice",
    "voxcpm",
    "soprano",
    "moonshine",
)
_MODEL_TYPE_FAMILIES = (
    "voxtral_tts",
    "vibevoice_asr",
    "qwen3_tts",
    "qwen3_asr",
    "glm4_voice",
    "kokoro",
    "kitten",
    "whisper",
    "bark",
    "speecht5",
    "parler",
    "dia",
    "outetts",
    "spark",
    "chatterbox",
    "soprano",
    "parakeet",
    "pocket_tts",
    "moonshine",
)

# Name fallback: repo or folder names.
_AUDIO_NAMES: tuple[tuple[str, str], ...] = (
    ("voxtral-tts", SPEECH),
    ("vibevoice-asr", TRANSCRIPTION),
    ("kokoro", SPEECH),
    ("kitten", SPEECH),
    ("whisper", TRANSCRIPTION),
    ("parakeet", TRANSCRIPTION),
    ("voxtral", TRANSCRIPTION),
    ("moonshine", TRANSCRIPTION),
    ("bark", SPEECH),
    ("speecht5", SPEECH),
    ("parler", SPEECH),
    ("chatterbox", SPEECH),
    ("/dia-", SPEECH),
    ("outetts", SPEECH),
    ("spark-tts", SPEECH),
    ("vibevoice", SPEECH),
    ("voxcpm", SPEECH),
    ("soprano", SPEECH),
    ("descript-audio", CODEC),
    ("dac", CODEC),
    ("snac", CODEC),
    ("vocos", CODEC),
    ("encodec", CODEC),
    ("tts", SPEECH),
    ("stt", TRANSCRIPTION),
    ("asr", TRANSCRIPTION),
    ("speech", SPEECH),
)
_VISION_NAMES = (
    "-vl",
    "vlm",
    "vision",
    "qwen2-vl",
    "qwen2.5-vl",
    "qwen3-vl",
    "qwen3.5-vl",
    "llava",
    "pixtral",
    "gemma-3",
)
_EMBEDDING_NAMES = ("embed", "minilm", "sentence", "e5-", "bge-", "gte-")
_EMBEDDING_ARCHITECTURES = ("embedding", "sentence", "bert", "roberta", "e5", "bge")
_EMBEDDING_MODEL_TYPES = ("embedding", "sentence", "bert")

_MLX_AUDIO_CATEGORIES = {"tts": SPEECH, "stt": TRANSCRIPTION, "codec": CODEC}


def read_config(path) -> dict | None:
    """config.json from a model folder, or None when absent or unreadable."""
    try:
        with open(Path(path) / "config.json") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def detect_kind(config: dict | None, name: str = "") -> str:
    """Classify a model from its config.json (may be None) and its repo or folder name."""
    name = (name or "").lower()
    if not name.startswith("/"):
        name = "/" + name  # so "dia-1.6b" matches "/dia-" as "nari-labs/dia-1.6b" does
    if config:
        kind = _kind_from_config(config, name)
        if kind:
            return kind
        if _is_causal_lm(config):
            # A language model with "speech" or "tts" in its name is still a language model.
            return TEXT
    return _kind_from_name(name) or TEXT


def detect_folder(path, name: str | None = None) -> str:
    """detect_kind for a local folder, using its name when the config says nothing."""
    path = Path(path)
    return detect_kind(read_config(path), name or path.name)


def _kind_from_config(config: dict, name: str) -> str | None:
    model_type = str(config.get("model_type") or "").lower()
    architectures = [str(a).lower() for a in (config.get("architectures") or []) if a]
    first_architecture = architectures[0] if architectures else ""

    # 1. Vision
    if "vision_config" in config or any(
        key in config for key in ("image_token_id", "image_token_index", "video_token_id")
    ):
        return VISION
    if any(
        marker in field
        for field in [model_type, *architectures]
        for marker in ("vl", "vision", "multimodal")
        if _word_marker(field, marker)
    ):
        return VISION

    # 2. Audio config keys
    if any(key in config for key in _AUDIO_CONFIG_KEYS):
        return _audio_job_from_config(config, model_type, first_architecture, name)

    # 3. Architecture names, 4. model_type values
    job = _family_match(first_architecture, model_type)
    if job:
        return job

    # 4b. mlx-audio's own answer for types it knows and we do not list yet.
    if model_type and not _is_causal_lm(config):
        category = _mlx_audio_category(model_type)
        if category:
            return category

    # Codec-only configs (DAC, SNAC, EnCodec...) carry their quantiser shape.
    if sum(key in config for key in _CODEC_KEYS) >= 2:
        return CODEC

    # 5. Embeddings
    if any(marker in first_architecture for marker in _EMBEDDING_ARCHITECTURES):
        return EMBEDDINGS
    if any(marker in model_type for marker in _EMBEDDING_MODEL_TYPES):
        return EMBEDDINGS
    return None


def _word_marker(field: str, marker: str) -> bool:
    """'vl' must be a word part (qwen2_vl, Qwen2VLFor...), not any 'vl' inside a word."""
    if marker != "vl":
        return marker in field
    import re

    return bool(re.search(r"(^|[_\-\d])vl($|[_\-])|\dvl|vlfor|vlmodel", field))


def _family_match(architecture: str, model_type: str) -> str | None:
    """The job of the first audio family named by the architecture, else by model_type."""
    for families, field in ((_ARCHITECTURE_FAMILIES, architecture), (_MODEL_TYPE_FAMILIES, model_type)):
        for family in families:
            if family in field:
                return _family_job(family)
    return None


def _audio_job_from_config(config: dict, model_type: str, architecture: str, name: str) -> str:
    job = _family_match(architecture, model_type)
    if job:
        return job
    if "tts_config" in config:
        return SPEECH
    if "stt_config" in config:
        return TRANSCRIPTION
    has_codec_keys = any(key in config for key in _CODEC_KEYS) or "codec_config" in config
    if "vocoder_config" in config and not has_codec_keys:
        return SPEECH
    name_job = _audio_job_from_name(name)
    if name_job:
        return name_job
    if has_codec_keys:
        return CODEC
    return AUDIO


def _family_job(family: str) -> str:
    for pattern, job in _AUDIO_FAMILIES:
        if pattern == family:
            return job
    return AUDIO


def _is_causal_lm(config: dict) -> bool:
    return any("causallm" in str(a).lower() for a in (config.get("architectures") or []))


def _mlx_audio_category(model_type: str) -> str | None:
    try:
        from mlx_audio.registry import classify_model
    except ImportError:  # pragma: no cover - mlx-audio is a dependency
        return None
    category = classify_model(model_type)
    if category is None:
        return None
    return _MLX_AUDIO_CATEGORIES.get(category, AUDIO)


def _audio_job_from_name(name: str) -> str | None:
    for pattern, job in _AUDIO_NAMES:
        if pattern in name:
            return job
    return None


def _kind_from_name(name: str) -> str | None:
    job = _audio_job_from_name(name)
    if job:
        return job
    if any(pattern in name for pattern in _VISION_NAMES):
        return VISION
    if any(pattern in name for pattern in _EMBEDDING_NAMES):
        return EMBEDDINGS
    return None


def describe_kind(kind: str) -> str:
    """Words for error messages: 'a text generation model', 'an audio codec'..."""
    return {
        TEXT: "a text generation model",
        VISION: "a vision model",
        EMBEDDINGS: "an embeddings model",
        SPEECH: "a speech (text-to-speech) model",
        TRANSCRIPTION: "a transcription (speech-to-text) model",
        CODEC: "an audio codec, not a speech or transcription model",
        AUDIO: "an audio model that is neither speech nor transcription",
    }.get(kind, kind)
