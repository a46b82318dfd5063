"""Running a loaded model on the MLX thread: speech out, transcripts in plain dataclasses.

What leaves the MLX thread is numpy data and ``models`` dataclasses, never MLX arrays
(a lazy array made on one thread fails on another).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterator
from typing import Any

from ..errors import AudioError
from ..models import Audio, Segment, Transcript, Word
from .loading import Loaded, one_line
from .patches import prepare_language, stoppable
from .thread import cancel_requested

# Whisper asks this between windows, encoder passes and decoder steps (patches/stoppable.py).
stoppable.should_stop = cancel_requested

log = logging.getLogger("llm_mlx_audio")
SPEECH_SEED = 0

# Kokoro's language codes, from ISO-ish codes a user is likely to type.
_KOKORO_LANGUAGES = {
    "en": "a", "en-us": "a", "en_us": "a", "a": "a",
    "en-gb": "b", "en_gb": "b", "b": "b",
    "es": "e", "e": "e", "fr": "f", "fr-fr": "f", "f": "f",
    "hi": "h", "h": "h", "it": "i", "i": "i", "ja": "j", "j": "j",
    "pt": "p", "pt-br": "p", "p": "p", "zh": "z", "z": "z",
}  # fmt: skip


def generate_speech(loaded: Loaded, text: str, voice, speed, language) -> Iterator[Audio]:
    import numpy as np

    model = loaded.model
    kwargs = dict(loaded.generate_kwargs)
    kwargs.update(voice=voice, speed=speed)
    if loaded.model_type == "kokoro":
        kwargs["lang_code"] = _kokoro_language(language)
        prepare_language(model, kwargs["lang_code"])
    elif language:
        kwargs["lang_code"] = language
    kwargs = _accepted(model.generate, kwargs)
    rate = getattr(model, "sample_rate", None) or 24000
    try:
        import mlx.core as mx

        # Kokoro's and kitten's vocoders add random noise: a fixed seed per piece makes the
        # same text, voice and speed give the same samples every time, in any process (a
        # warm server's and the command's own are byte for byte the same).
        mx.random.seed(SPEECH_SEED)
        started = time.perf_counter()
        for samples, sample_rate, words in _results(loaded, model, text, kwargs, rate):
            if not np.all(np.isfinite(samples)):
                raise AudioError("The model produced invalid audio (NaN or infinite samples)")
            audio = Audio(samples, sample_rate, words=words)
            took = time.perf_counter() - started
            log.debug(
                "synthesized %.2f s of audio in %.2f s (real-time factor %.2f): %r",
                audio.duration,
                took,
                took / max(audio.duration, 1e-9),
                text[:60],
            )
            yield audio
            started = time.perf_counter()
    except ValueError as e:
        # mlx-audio reports unknown voices and unsupported options as ValueError.
        raise AudioError(one_line(e)) from e
    except ImportError as e:
        # e.g. Kokoro's Japanese or Chinese text front-ends are optional extras of misaki
        raise AudioError(f"This language needs an optional package: {one_line(e)}") from e
    except IndexError as e:
        # kitten_tts indexes its phonemizer's output unchecked: text that eSpeak turns
        # into nothing ("<0>" after its cleaner) fails there instead of giving no audio.
        raise AudioError(f"The model found nothing it could speak in this text ({one_line(e)})") from e


def _results(loaded: Loaded, model, text: str, kwargs: dict, rate: int):
    """(samples, sample rate, words or None) per piece the model makes; Kokoro's come with
    word times from its predicted durations (word_timing.py), other models' without."""
    import numpy as np

    if loaded.model_type == "kokoro" and hasattr(model, "_get_pipeline"):
        from .word_timing import kokoro_speech

        speech = kokoro_speech(
            model, text, kwargs.get("voice"), kwargs.get("speed", 1.0), kwargs["lang_code"]
        )
        for samples, words in speech:
            yield samples, rate, words
        return
    for result in model.generate(text, **kwargs):
        samples = np.asarray(result.audio, dtype=np.float32).reshape(-1)
        yield samples, int(getattr(result, "sample_rate", None) or rate), None


def transcribe(loaded: Loaded, samples, language, prompt, temperature, word_timestamps, task="transcribe"):
    import numpy as np

    model = loaded.model
    samples = np.asarray(samples, dtype=np.float32)
    probability = None
    if language is None:
        language, probability = _whisper_language(loaded, samples)
    kwargs = dict(loaded.generate_kwargs)
    kwargs.update(language=language, verbose=None, word_timestamps=word_timestamps)
    if task != "transcribe":
        kwargs["task"] = task
    if prompt:
        kwargs["initial_prompt"] = prompt
    if temperature is not None:
        kwargs["temperature"] = temperature
    dtype = getattr(model, "dtype", None)
    if dtype is not None and "fp16" not in kwargs:
        import mlx.core as mx

        # Whisper's generate assumes fp16 unless told; an fp32 model must say so.
        kwargs["fp16"] = dtype == mx.float16
    kwargs = _accepted(model.generate, kwargs)
    result = model.generate(samples, **kwargs)
    transcript = normalise_transcript(result)
    transcript.language_probability = probability
    return transcript


def _whisper_language(loaded: Loaded, samples) -> tuple[str | None, float | None]:
    """A Whisper's language for the recording and its probability; (None, None) for others.

    Whisper's ``generate`` detects on the first 30 s but keeps the probability to itself:
    detected here the same way (``batched_whisper.language_probabilities``) and passed
    to it, so the encoder still runs once for the detection.
    """
    from . import batched_whisper

    if not batched_whisper.is_batched_whisper(loaded):
        return None, None
    return batched_whisper.detect_language(loaded.model, [samples])


def normalise_transcript(result) -> Transcript:
    """mlx-audio's STT results (whisper's STTOutput, parakeet's AlignedResult...) as a Transcript."""
    text = (getattr(result, "text", "") or "").strip()
    language = getattr(result, "language", None)
    if isinstance(language, (list, tuple)):
        language = language[0] if language else None
    raw_segments = getattr(result, "segments", None)
    if raw_segments is None:
        raw_segments = getattr(result, "sentences", None) or []
    segments = [_segment(s) for s in raw_segments]
    segments = [s for s in segments if s.text]
    has_timestamps = any(s.end > 0 for s in segments)
    if not segments and text:
        segments = [Segment(0.0, 0.0, text)]
    return Transcript(
        text=text,
        language=language,
        segments=segments,
        has_timestamps=has_timestamps,
    )


def _segment(raw) -> Segment:
    get = raw.get if isinstance(raw, dict) else lambda k, d=None: getattr(raw, k, d)
    words = [
        Word(
            start=float(_field(w, "start", 0.0)),
            end=float(_field(w, "end", 0.0)),
            word=str(_field(w, "word", "") or _field(w, "text", "")),
            probability=_field(w, "probability", None),
        )
        for w in (get("words") or [])
    ]
    return Segment(
        start=float(get("start", 0.0) or 0.0),
        end=float(get("end", 0.0) or 0.0),
        text=str(get("text", "") or "").strip(),
        words=words,
        **decoding_fields(raw),
    )


def decoding_fields(raw) -> dict:
    """Whisper's per-segment decoding results (tokens, temperature, log-probability...), when present."""
    found = {}
    tokens = _field(raw, "tokens", None)
    if tokens is not None:
        found["tokens"] = [int(t) for t in tokens]
    for name in ("temperature", "avg_logprob", "compression_ratio", "no_speech_prob"):
        value = _field(raw, name, None)
        if value is not None:
            found[name] = float(value)
    return found


def _field(obj, name, default):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _kokoro_language(language: str | None) -> str:
    if not language:
        return "a"
    code = _KOKORO_LANGUAGES.get(language.lower())
    if code is None:
        raise AudioError(
            f"Kokoro does not speak '{language}'; use one of: en, en-gb, es, fr, hi, it, ja, pt, zh"
        )
    return code


def _accepted(fn, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Only the keyword arguments fn takes (signatures differ per model family)."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in parameters}
