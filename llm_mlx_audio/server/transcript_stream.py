"""`stream=true` on the transcription endpoints: OpenAI's ``transcript.text.*`` events.

The openai SDK's ``transcriptions.create(..., stream=True)`` reads Server-Sent Events;
a JSON body would give it zero events and no error. Whisper on the MLX engine decodes
a recording in batches of VAD windows, so ``transcript.text.delta`` events go out as
each batch is decoded (a 10-minute recording's first words arrive after its first
batch, not after all of it); an engine that decodes in one go sends one delta at the
end. ``transcript.text.done`` carries the whole text and the usage; diarized answers
add a ``transcript.text.segment`` per speaker turn once the speakers are known.

The transcription runs on a thread of its own and hands segments over a queue, so a
client that hangs up closes the generator, which stops the work at its next decoder
step (registry.cancel_when).
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator

from .. import registry
from ..errors import AudioError, JobCancelled
from ..models import Segment, Transcript
from .errors import log
from .sse import sse

#: Whisper's encoder makes 50 positions per second of audio: the input's "audio tokens".
AUDIO_TOKENS_PER_SECOND = 50


def transcript_events(
    run: Callable[[Callable[[list[Segment]], None]], Transcript], diarized: bool = False
) -> Iterator[bytes]:
    """SSE bytes while run(on_segments) transcribes on a worker thread.

    run must call on_segments with segments as they are decoded (or never) and return the
    finished Transcript; its errors become one ``error`` event, which the SDK raises.
    """
    events: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work():
        try:
            with registry.cancel_when(stop):
                transcript = run(lambda segments: events.put(("segments", segments)))
            events.put(("done", transcript))
        except JobCancelled:
            events.put(("cancelled", None))
        except Exception as error:  # reported to the client as an error event, and logged
            events.put(("error", error))

    worker = threading.Thread(target=work, name="llm-mlx-audio-transcript-stream", daemon=True)
    worker.start()
    sent = []
    try:
        while True:
            kind, value = events.get()
            if kind == "segments":
                for segment in value:
                    delta = _delta(segment.text, first=not sent)
                    if delta:
                        sent.append(delta)
                        yield sse({"type": "transcript.text.delta", "delta": delta})
            elif kind == "done":
                yield from _finish(value, "".join(sent), diarized)
                return
            elif kind == "error":
                message = str(value) if isinstance(value, AudioError) else "The transcription failed"
                if not isinstance(value, AudioError):
                    log.error("Streamed transcription failed: %r", value)
                yield sse({"type": "error", "error": {"message": message, "type": "server_error"}})
                return
            else:
                return
    finally:
        stop.set()


def _finish(transcript: Transcript, streamed: str, diarized: bool) -> Iterator[bytes]:
    text = transcript.text
    if not streamed and text:
        yield sse({"type": "transcript.text.delta", "delta": text})
    elif text.startswith(streamed) and len(text) > len(streamed):
        # Corrections applied after decoding can lengthen the text: send what differs.
        yield sse({"type": "transcript.text.delta", "delta": text[len(streamed) :]})
    if diarized:
        for number, segment in enumerate(transcript.segments):
            yield sse(
                {
                    "type": "transcript.text.segment",
                    "id": f"seg_{number:03d}",
                    "start": segment.start,
                    "end": segment.end,
                    "speaker": segment.speaker or "",
                    "text": segment.text,
                }
            )
    yield sse({"type": "transcript.text.done", "text": text, "usage": usage(transcript)})


def usage(transcript: Transcript) -> dict:
    """OpenAI's token usage: audio positions Whisper's encoder read in, text tokens decoded out."""
    audio = math.ceil((transcript.duration or 0.0) * AUDIO_TOKENS_PER_SECOND)
    text = sum(len([t for t in segment.tokens if t < 50257]) for segment in transcript.segments)
    return {
        "type": "tokens",
        "input_tokens": audio,
        "output_tokens": text,
        "total_tokens": audio + text,
        "input_token_details": {"audio_tokens": audio, "text_tokens": 0},
    }


def _delta(text: str, first: bool) -> str:
    """A segment's text as the next piece of the whole: segments are joined by one space."""
    text = text.strip()
    if not text:
        return ""
    return text if first else " " + text
