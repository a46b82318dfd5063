"""The speech endpoint's ``"timestamps": true`` extension: the audio with its words' times.

Kokoro-FastAPI's ``captioned_speech`` gives times for the words the model spoke; here each
word is the client's own, with its place in ``input`` (text/spans.py): "**Bold**" is "Bold"
at 2..6, a URL one word though its host is said. Without stream_format the answer is JSON,
``{"audio": base64, "format", "sample_rate", "duration", "words": [...]}``; with
``stream_format: "sse"`` every ``speech.audio.delta`` event carries the words of its chunk
(times from the start of the whole audio). The words come from the whole input read at once
(Model.iter_speech), so they are the same words `llm speak --captions` writes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

from ..errors import AudioError
from ..models import Audio, Word
from .errors import ApiError
from .sse import SPEECH_DONE, sse


def word_dicts(words: list[Word], offset: float = 0.0) -> list[dict]:
    """Words as the API gives them: word, start, end (seconds), char_start, char_end."""
    return [
        {
            "word": w.word,
            "start": round(w.start + offset, 3),
            "end": round(w.end + offset, 3),
            "char_start": w.char_start,
            "char_end": w.char_end,
        }
        for w in words
    ]


def timed_speech(model, chunks: Iterator[Audio], fmt: str, sse: bool, floats: bool, encode_stream, drain):
    """The response for a speech request with timestamps (encode_stream, drain: app's; floats:
    pcm as float32 at the model's rate, for this machine's `llm speak --captions`)."""
    from fastapi.responses import JSONResponse, StreamingResponse

    try:
        first = next(chunks)
    except StopIteration:
        raise AudioError("The model produced no audio") from None
    if first.words is None:
        chunks.close()
        raise ApiError(
            400,
            f"timestamps need a model that reports word durations (Kokoro); {model.model_id} does not",
            param="timestamps",
            code="timestamps_unsupported",
        )
    if not sse:
        audio = Audio.join([first, *chunks])
        return JSONResponse(
            {
                "audio": base64.b64encode(audio.to_bytes(fmt)).decode("ascii"),
                "format": fmt,
                "sample_rate": audio.sample_rate,
                "duration": round(audio.duration, 3),
                "words": word_dicts(audio.words or []),
            }
        )
    pending: list[list[dict]] = []

    def noted():
        # encode_stream takes one chunk, then yields that chunk's bytes: the words wait here.
        offset = 0.0
        for chunk in _chain(first, chunks):
            pending.append(word_dicts(chunk.words or [], offset))
            offset += chunk.duration
            yield chunk

    every = noted()
    encoded = encode_stream(next(every), every, fmt, floats)
    events = _events(encoded, pending, first.sample_rate if floats else None)
    return StreamingResponse(drain(events), media_type="text/event-stream")


def _chain(first, rest):
    try:
        yield first
        yield from rest
    finally:
        rest.close()  # a client that hung up stops the synthesis


def _events(encoded: Iterator[bytes], pending: list[list[dict]], rate: int | None) -> Iterator[bytes]:
    try:
        for data in encoded:
            words = pending.pop(0) if pending else []
            if data or words:
                event = {
                    "type": "speech.audio.delta",
                    "audio": base64.b64encode(data).decode("ascii"),
                    "words": words,
                }
                if rate:
                    event["sample_rate"] = rate
                yield sse(event)
        yield sse(SPEECH_DONE)
    finally:
        encoded.close()
