"""verbose_json segments with every field OpenAI's TranscriptionSegment has.

Clients that parse the answer with openai's types (or read ``avg_logprob`` and
``no_speech_prob`` to drop hallucinated segments, as whisperX-style pipelines do) need
them all: id, seek, start, end, text, tokens, temperature, avg_logprob,
compression_ratio, no_speech_prob. Whisper on the MLX engine reports the decoding
values; an engine that does not gets neutral ones (0.0, and no_speech_prob 0.0) rather
than a missing key.
"""

from __future__ import annotations

#: Whisper's mel frames per second: OpenAI's ``seek`` counts them.
FRAMES_PER_SECOND = 100


def complete_segments(written: list[dict], segments: list) -> list[dict]:
    """written (the writer's segment dicts) with OpenAI's decoding fields added from segments."""
    completed = []
    for data, segment in zip(written, segments, strict=True):
        completed.append(
            {
                "id": data.get("id", len(completed)),
                "seek": int(round(segment.start * FRAMES_PER_SECOND)),
                **data,
                "tokens": list(getattr(segment, "tokens", None) or []),
                "temperature": _number(getattr(segment, "temperature", None)),
                "avg_logprob": _number(getattr(segment, "avg_logprob", None)),
                "compression_ratio": _number(getattr(segment, "compression_ratio", None)),
                "no_speech_prob": _number(getattr(segment, "no_speech_prob", None)),
            }
        )
    return completed


def _number(value) -> float:
    return round(float(value), 4) if value is not None else 0.0
