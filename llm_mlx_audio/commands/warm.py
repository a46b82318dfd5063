"""Using a running `llm audio serve` from `llm speak` and `llm transcribe`: models stay warm.

When this machine's server advertises itself (server/advert.py) and answers, a command
sends its work there instead of loading the model itself, and gets back exactly what
it would have made: float32 samples synthesized the same way (encoded here, by the
same encoder), or the whole Transcript. Anything wrong with the server (gone, busy,
the upload too big for it) and the command quietly does the work itself; --local (or
LLM_MLX_AUDIO_LOCAL=1) always does. Only the standard library and numpy here.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..errors import AudioError
from ..models import Audio

ENV_LOCAL = "LLM_MLX_AUDIO_LOCAL"
_CHUNK_BYTES = 4 * 12000  # half a second of 24 kHz float32 per Audio chunk


class ServerUnavailable(Exception):
    """The server cannot do this one (gone, busy, refused the size): do it locally."""


def find_server(local: bool, model_id: str) -> dict | None:
    """This machine's running server, if it may do this model's work: {"url", "token", ...}.

    None with --local (or LLM_MLX_AUDIO_LOCAL=1), and for a model given as a folder path
    (the server knows models by id). The result carries ``gone``: a caller that sends it
    several pieces of work (each sentence of --stream, each utterance of `llm listen`)
    sets it after the server fails once, and does the rest locally.
    """
    if local or os.environ.get(ENV_LOCAL, "").strip().lower() not in ("", "0", "false", "no"):
        return None
    if Path(model_id).is_absolute():
        return None
    import llm

    from ..server.advert import find

    found = find(llm.user_dir())
    return None if found is None else {**found, "gone": False}


def speech_chunks(
    server: dict, model_id: str, text: str, voice, speed, language, normalize, words: bool = False
) -> Iterator[Audio]:
    """The server's samples for text, as Audio chunks while they arrive (words: with their
    times, as the speech endpoint's timestamps extension sends them)."""
    import numpy as np

    body = {
        "model": model_id,
        "input": text,
        "voice": voice,
        "speed": speed,
        "language": language,
        "normalize": normalize,
        "response_format": "pcm",
        "sample_format": "float32",
        "stream_format": "audio",
    }
    if words:
        body.update(timestamps=True, stream_format="sse")
    response = _post(server, "/v1/audio/speech", json.dumps(body).encode(), "application/json")
    if words:
        yield from _timed_chunks(response)
        return
    with response:
        rate = int(response.headers.get("X-Sample-Rate") or 24000)
        pending = b""
        while True:
            data = response.read(_CHUNK_BYTES)
            if not data:
                break
            pending += data
            usable = len(pending) - len(pending) % 4
            if usable:
                yield Audio(np.frombuffer(pending[:usable], dtype="<f4").copy(), rate)
                pending = pending[usable:]


def _timed_chunks(response) -> Iterator[Audio]:
    """Audio chunks with their words from the server's SSE events (times made chunk-relative)."""
    import base64

    import numpy as np

    from ..models import Word

    offset = 0.0
    with response:
        for line in response:
            if not line.startswith(b"data: "):
                continue
            event = json.loads(line[6:])
            if event.get("type") != "speech.audio.delta":
                continue
            samples = np.frombuffer(base64.b64decode(event["audio"]), dtype="<f4").copy()
            said = [
                Word(**{**w, "start": w["start"] - offset, "end": w["end"] - offset}) for w in event["words"]
            ]
            chunk = Audio(samples, int(event.get("sample_rate") or 24000), words=said)
            offset += chunk.duration
            yield chunk


def transcript(
    server: dict, model_id: str, source, options: dict, word_timestamps: bool, long_form=None, extra=None
):
    """The server's Transcript of source (a path or bytes); extra: more form fields."""
    from ..transcript_cache import transcript_from_dict

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    fields = {"model": model_id, "response_format": "transcript"}
    for name in ("language", "prompt", "temperature"):
        if options.get(name) is not None:
            fields[name] = str(options[name])
    long_form = long_form or {}
    if long_form.get("task", "transcribe") != "transcribe":
        fields["task"] = long_form["task"]
    if "vad" in long_form:
        fields["vad"] = "true" if long_form["vad"] else "false"
    if long_form.get("vad_options") is not None:
        fields["vad_threshold"] = str(long_form["vad_options"].threshold)
        fields["min_silence_ms"] = str(long_form["vad_options"].min_silence_ms)
    if long_form.get("batch_size"):
        fields["batch_size"] = str(long_form["batch_size"])
    if long_form.get("diarize"):
        fields["diarize"] = "true"
        if long_form.get("speakers"):
            fields["speakers"] = str(long_form["speakers"])
    if word_timestamps:
        fields["timestamp_granularities[]"] = "word"
    fields.update(extra or {})
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="audio"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    response = _post(
        server, "/v1/audio/transcriptions", b"".join(parts), f"multipart/form-data; boundary={boundary}"
    )
    with response:
        return transcript_from_dict(json.loads(response.read()))


def exact_wav(samples, rate: int) -> bytes | None:
    """samples (float32 from 16-bit capture) as a 16-bit WAV that decodes back to exactly
    the same floats; None when they are not all on the 16-bit grid (then work locally, so
    the warm and the local transcript stay the same)."""
    import io
    import wave

    import numpy as np

    samples = np.asarray(samples, dtype=np.float32)
    levels = np.round(samples.astype(np.float64) * 32768.0)
    if levels.size and (levels.min() < -32768 or levels.max() > 32767):
        return None
    if not np.array_equal((levels / 32768.0).astype(np.float32), samples):
        return None
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(levels.astype("<i2").tobytes())
    return out.getvalue()


def _post(server: dict, path: str, body: bytes, content_type: str):
    request = urllib.request.Request(
        server["url"] + path,
        data=body,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {server.get('token', '')}"},
    )
    from ..server.advert import opener

    try:
        return opener().open(request, timeout=3600)
    except urllib.error.HTTPError as error:
        if error.code in (401, 413, 429, 500, 502, 503, 504):
            raise ServerUnavailable(error.code) from None
        try:
            details = json.loads(error.read())["error"]
        except (ValueError, KeyError, TypeError):
            details = {"message": f"the server answered {error.code}"}
        if details.get("code") == "invalid_audio":
            raise ServerUnavailable(error.code) from None  # decoded here, it fails with the local words
        raise AudioError(details.get("message") or f"the server answered {error.code}") from None
    except OSError as error:  # refused, reset, timed out: it is not there after all
        raise ServerUnavailable(str(error)) from None
