"""`llm audio serve`: OpenAI's speech and transcription API over the plugin's models.

An unmodified OpenAI client pointed at this server speaks and transcribes with local
models. All model work still goes through the one pool and the one MLX thread:
endpoints run on worker threads (FastAPI's threadpool) and queue there, so concurrent
requests wait their turn instead of failing, and a model stays loaded between requests.

Imported only by the serve command (FastAPI and uvicorn are too heavy for every `llm`
call); engines are imported lazily as everywhere else.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from typing import Literal

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import registry
from ..audio import encode, writers
from ..audio.speech_regions import VadOptions
from ..errors import AudioDecodeError, AudioError, AudioTooLongError
from ..models import (
    DEFAULT_BATCH_SIZE,
    MAX_SPEED,
    MIN_SPEED,
    Audio,
    TranscriptionModel,
    check_diarization,
    check_task,
    transcribe_limited,
)
from ..speakers import check_names, rename
from ..streaming import stream_speech
from . import DEFAULT_MAX_QUEUE, DEFAULT_MAX_UPLOAD_MB, MAX_SPEECH_INPUT, advert
from .admission import Admission, run_model_work
from .auth import ApiKeyMiddleware
from .body_limit import DEFAULT_MAX_JSON_BYTES, BodyLimit
from .browser_guard import BrowserGuard, allowed_hosts
from .errors import ApiError, from_validation_errors, install_error_handlers, log
from .names import choose_voice, model_card, models_of, resolve_model
from .realtime import route as realtime
from .upload import read_upload

# The formats come from the codecs and writers themselves, as on the command line.
SPEECH_FORMATS = Literal[encode.FORMATS]
# "transcript" is an extension for this machine's own `llm transcribe`: the whole Transcript.
TRANSCRIPT_FORMATS = Literal[(*writers.FORMATS, "transcript")]


class VoiceId(BaseModel):
    """OpenAI's custom-voice object, {"id": "..."}: the id is used as the voice name."""

    id: str = Field(min_length=1, max_length=256)


class SpeechRequest(BaseModel):
    """The body of POST /v1/audio/speech, as OpenAI documents it."""

    model: str | None = Field(
        None, max_length=1024, description="Model id, alias, or an OpenAI name (tts-1...)"
    )
    input: str = Field(min_length=1, max_length=MAX_SPEECH_INPUT)
    voice: str | VoiceId | None = Field(None, description="Voice name; OpenAI's names map to the default")
    response_format: SPEECH_FORMATS = "mp3"
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED)
    # Accepted because OpenAI's clients send it; no local model takes instructions yet.
    instructions: str | None = Field(None, max_length=4096)
    stream_format: Literal["audio", "sse"] | None = None
    # An extension: false speaks the input exactly as given instead of reading it as
    # Markdown (no markup, code blocks or emoji spoken).
    normalize: bool = True
    # Extensions for this machine's own `llm speak` (a warm server): the model's language
    # code, and pcm as float32 samples so the client encodes exactly what it would itself.
    language: str | None = Field(None, max_length=32)
    sample_format: Literal["s16", "float32"] = "s16"


class TranscriptionForm(BaseModel):
    """The form fields of POST /v1/audio/transcriptions (the file travels beside them)."""

    model_config = ConfigDict(populate_by_name=True)

    model: str | None = Field(None, max_length=1024)
    language: str | None = Field(None, max_length=32)
    prompt: str | None = Field(None, max_length=4096)
    response_format: TRANSCRIPT_FORMATS = "json"
    temperature: float | None = Field(None, ge=0.0, le=1.0)
    timestamp_granularities: list[Literal["word", "segment"]] = Field(
        default_factory=list, alias="timestamp_granularities[]"
    )
    # Extensions (this machine's own `llm transcribe` sends them to a warm server): voice
    # activity detection, its threshold and pause length, windows decoded at once, task.
    vad: bool = True
    vad_threshold: float = Field(VadOptions.threshold, ge=0.05, le=0.95)
    min_silence_ms: int = Field(VadOptions.min_silence_ms, ge=100, le=30000)
    batch_size: int = Field(DEFAULT_BATCH_SIZE, ge=1, le=64)
    task: Literal["transcribe", "translate"] = "transcribe"
    # Diarization: OpenAI's known_speaker_names[] (given in order of appearance here: no
    # voice samples are matched); diarize and speakers are extensions (response_format
    # diarized_json diarizes on its own).
    known_speaker_names: list[str] = Field(default_factory=list, alias="known_speaker_names[]", max_length=20)
    diarize: bool = False
    speakers: int | None = Field(None, ge=1, le=20)


class TranslationForm(BaseModel):
    """The form fields of POST /v1/audio/translations: OpenAI's (speech in any language to English)."""

    model: str | None = Field(None, max_length=1024)
    prompt: str | None = Field(None, max_length=4096)
    response_format: TRANSCRIPT_FORMATS = "json"
    temperature: float | None = Field(None, ge=0.0, le=1.0)


def create_app(
    *,
    api_key: str | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024,
    max_queue: int = DEFAULT_MAX_QUEUE,
    local_token: str | None = None,
    hosts: frozenset | None = None,
    cors_origins: frozenset = frozenset(),
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES,
    max_audio_seconds: float | None = None,
) -> FastAPI:
    """The ASGI app. With api_key every request but /health needs `Authorization: Bearer KEY`
    (or the local_token this machine's own `llm speak` reads from the server's advert).

    hosts are the Host names it answers (default: a loopback server's) and cors_origins
    the web pages it serves besides its own (server/browser_guard.py); JSON bodies are
    limited to max_json_bytes and decoded uploads to max_audio_seconds of audio.
    """
    app = FastAPI(title="llm-mlx-audio", version="1", summary="OpenAI-compatible speech and transcription")
    install_error_handlers(app)
    # Added innermost first: the Host/Origin guard sees every request before anything else,
    # CORS answers preflights before the key is asked for, bodies are limited before parsing.
    app.add_middleware(BodyLimit, max_bytes=max_json_bytes)
    if api_key:
        app.add_middleware(ApiKeyMiddleware, api_key=api_key, local_token=local_token)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=sorted(cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "OpenAI-Beta"],
            expose_headers=["X-Sample-Rate", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(
        BrowserGuard, hosts=allowed_hosts("127.0.0.1") if hosts is None else hosts, cors_origins=cors_origins
    )
    admission = Admission(max_queue)
    realtime.install(app)

    @app.get("/health")
    def health(challenge: str | None = Query(None, max_length=128)):
        models = [
            {
                "model": _model_name(m["key"]),
                "bytes": m["size"],
                "idle_seconds": m["idle_seconds"],
                "pinned": m["pinned"],
            }
            for m in registry.loaded_models()
        ]
        answer = {
            "status": "ok",
            "models_loaded": len(models),
            "models": models,
            "requests": admission.active,
            "cancelled": admission.cancelled,
        }
        if challenge and local_token:
            # This machine's commands check that whoever answers on the advertised port
            # holds the advert's token, without the token ever being sent.
            answer["proof"] = advert.proof(local_token, challenge)
        return answer

    @app.get("/v1/models")
    def list_models():
        return {"object": "list", "data": [model_card(k, m) for k in registry.KINDS for m in models_of(k)]}

    @app.get("/v1/audio/voices")
    def voices(model: str | None = Query(None, max_length=1024)):
        speech_model = resolve_model("speech", model)
        # Objects, not strings: Open WebUI reads {id, name} and falls back to its own six
        # voices when it gets plain names.
        return {
            "model": speech_model.model_id,
            "default": speech_model.default_voice(),
            "voices": speech_model.voice_info(),
        }

    @app.post(
        "/v1/audio/speech",
        response_class=Response,
        responses={200: {"content": {t: {} for t in encode.MIME_TYPES.values()}, "description": "Audio"}},
    )
    async def speech(body: SpeechRequest, request: Request):
        return await run_model_work(request, admission, speak_response, body)

    @app.post(
        "/v1/audio/transcriptions",
        openapi_extra={"requestBody": _transcription_request_schema()},
        responses={200: {"content": {"application/json": {}, "text/plain": {}}, "description": "Transcript"}},
    )
    async def transcriptions(request: Request):
        return await _speech_to_text(request, TranscriptionForm, "transcribe")

    @app.post(
        "/v1/audio/translations",
        openapi_extra={"requestBody": _transcription_request_schema(TranslationForm)},
        responses={
            200: {"content": {"application/json": {}, "text/plain": {}}, "description": "Translation"}
        },
    )
    async def translations(request: Request):
        return await _speech_to_text(request, TranslationForm, "translate")

    async def _speech_to_text(request: Request, form_class, task: str):
        """Both endpoints: once admitted, read the upload, check its form and file, transcribe."""

        async def read_and_check():
            upload = await read_upload(request, max_upload_bytes)
            form = _transcription_form(upload.fields, form_class)
            if upload.file is None:
                raise ApiError(
                    422, f"file: Field required (the audio to {task})", param="file", code="missing_file"
                )
            if not upload.file:
                raise ApiError(400, "The uploaded file is empty", param="file", code="empty_file")
            if form_class is TranslationForm:
                form = TranscriptionForm(**form.model_dump(), task="translate")
            return form, upload.file, upload.filename, max_audio_seconds

        return await run_model_work(request, admission, transcribe_response, prepare=read_and_check)

    return app


# -- speech ------------------------------------------------------------------------


def speak_response(body: SpeechRequest) -> Response:
    """Synthesize (on this worker thread, queueing on the MLX thread) and answer with audio."""
    model = resolve_model("speech", body.model)
    voice = choose_voice(model, body.voice.id if isinstance(body.voice, VoiceId) else body.voice)
    if not body.input.strip():
        raise ApiError(400, "input is empty: there is no text to speak", param="input", code="empty_input")
    options = {"voice": voice, "speed": body.speed, "normalize": body.normalize, "language": body.language}
    media_type = encode.MIME_TYPES[body.response_format]
    floats = body.response_format == "pcm" and body.sample_format == "float32"
    if body.stream_format is None:
        audio = Audio.join(model.iter_speech(body.input, **options))
        data = _float32(audio.samples) if floats else audio.to_bytes(body.response_format)
        return Response(data, media_type=media_type, headers={"X-Sample-Rate": str(audio.sample_rate)})
    if floats:
        # This machine's own `llm speak` (a warm server): the pieces it would make itself
        # from the whole text, so its bytes are the same, each sent as soon as it is made.
        chunks = model.iter_speech(body.input, **options)
    else:
        # The same sentence-by-sentence streaming as `llm speak --stream`: the first bytes
        # come after one sentence's synthesis, not after the whole input's.
        chunks = stream_speech(model, [body.input], **options)
    # Take the first chunk here so bad input still gets a proper error status; after the
    # headers go out, a failure can only end the stream early.
    try:
        first = next(chunks)
    except StopIteration:
        raise AudioError("The model produced no audio") from None
    encoded = _encode_stream(first, chunks, body.response_format, floats)
    if body.stream_format == "sse":
        return StreamingResponse(_drain(_sse_events(encoded)), media_type="text/event-stream")
    headers = {"X-Sample-Rate": str(first.sample_rate)}
    return StreamingResponse(_drain(encoded), media_type=media_type, headers=headers)


def _model_name(pool_key: str) -> str:
    """A loaded model's id (never its folder: /health is open to anyone who can connect)."""
    from pathlib import Path

    for kind in registry.KINDS:
        for model in models_of(kind):
            if model.location and str(Path(model.location).resolve()) == pool_key:
                return model.model_id
    return Path(pool_key).name


def _float32(samples) -> bytes:
    import numpy as np

    return np.asarray(samples, dtype="<f4").tobytes()


def _encode_stream(first: Audio, rest: Iterator[Audio], fmt: str, floats: bool = False) -> Iterator[bytes]:
    """The bytes of fmt for chunks as they come (floats: raw little-endian float32)."""
    encoder = None if floats else encode.StreamEncoder(fmt, first.sample_rate)
    write = _float32 if encoder is None else encoder.write
    try:
        yield write(first.samples)
        for chunk in rest:
            yield write(chunk.samples)
        if encoder is not None:
            yield encoder.close()
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()  # a client that hung up stops the synthesis and frees the model lease


def _sse_events(encoded: Iterator[bytes]) -> Iterator[bytes]:
    """OpenAI's SSE speech stream: speech.audio.delta events, then speech.audio.done."""
    try:
        for data in encoded:
            if data:
                event = {"type": "speech.audio.delta", "audio": base64.b64encode(data).decode("ascii")}
                yield f"data: {json.dumps(event)}\n\n".encode()
        done = {
            "type": "speech.audio.done",
            "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0},
        }
        yield f"data: {json.dumps(done)}\n\n".encode()
    finally:
        encoded.close()


async def _drain(chunks: Iterator[bytes]):
    """Iterate a blocking generator on worker threads; close it however the response ends."""
    end = object()
    try:
        while True:
            data = await run_in_threadpool(next, chunks, end)
            if data is end:
                return
            if data:
                yield data
    except AudioError as error:
        log.warning("Speech stream ended early: %s", error)
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(chunks.close)


# -- transcription -----------------------------------------------------------------


def _transcription_form(fields, form_class=TranscriptionForm):
    values = {}
    for name, items in fields.items():
        items = [item for item in items if item != ""]  # an empty field means "not given"
        if not items:
            continue
        if name in ("timestamp_granularities[]", "timestamp_granularities"):
            values.setdefault("timestamp_granularities[]", []).extend(items)
        elif name in ("known_speaker_names[]", "known_speaker_names"):
            values.setdefault("known_speaker_names[]", []).extend(items)
        else:
            values[name] = items[-1]
    try:
        return form_class.model_validate(values)
    except ValidationError as error:
        raise from_validation_errors(error.errors()) from None


def transcribe_response(
    form: TranscriptionForm, data: bytes, filename: str | None, max_seconds: float | None = None
) -> Response:
    """Transcribe uploaded bytes (decoded in memory) and answer in OpenAI's shape for the format."""
    model: TranscriptionModel = resolve_model("transcription", form.model)
    granularities = set(form.timestamp_granularities)
    words = "word" in granularities
    if words and form.response_format not in ("verbose_json", "transcript"):
        raise ApiError(
            400,
            "timestamp_granularities needs response_format verbose_json",
            param="timestamp_granularities",
        )
    if words and not model.supports_word_timestamps:
        raise ApiError(400, f"{model.model_id} gives no word timestamps", param="timestamp_granularities")
    try:
        check_task(model, form.task)
    except AudioError as error:
        raise ApiError(400, str(error), param="model", code="translation_unsupported") from None
    diarize = getattr(form, "diarize", False) or form.response_format == "diarized_json"
    names = getattr(form, "known_speaker_names", [])
    diarize = diarize or bool(names)
    if diarize:
        try:
            check_diarization(model, True)
            check_names(names, getattr(form, "speakers", None))
        except AudioError as error:
            raise ApiError(400, str(error), param="model", code="diarization_unsupported") from None
    extra = {"diarize": True, "speakers": getattr(form, "speakers", None)} if diarize else {}
    try:
        transcript = transcribe_limited(
            model,
            data,
            max_seconds,
            language=form.language,
            prompt=form.prompt if model.supports_prompt else None,
            temperature=form.temperature if model.supports_temperature else None,
            word_timestamps=words,
            task=form.task,
            vad=form.vad,
            vad_options=VadOptions(threshold=form.vad_threshold, min_silence_ms=form.min_silence_ms),
            batch_size=form.batch_size,
            **extra,
        )
    except AudioTooLongError:
        label = f"The uploaded file {filename!r}" if filename else "The uploaded file"
        raise ApiError(
            413,
            f"{label} is longer than this server's limit of {max_seconds / 60:g} minutes of audio",
            param="file",
            code="audio_too_long",
        ) from None
    except AudioDecodeError as error:
        label = f"The uploaded file {filename!r}" if filename else "The uploaded file"
        raise ApiError(
            400, f"{label} cannot be decoded: {error}", param="file", code="invalid_audio"
        ) from None
    if names:
        rename(transcript, names)
    fmt = form.response_format
    if fmt == "transcript":
        return JSONResponse(transcript.to_dict())
    if fmt == "json":
        return JSONResponse({"text": transcript.text})
    if fmt == "verbose_json":
        body = writers.as_verbose_json(transcript)
        body.pop("has_timestamps", None)
        if granularities and "segment" not in granularities:
            body.pop("segments", None)
        if not words:
            body.pop("words", None)
        elif "words" not in body:
            body["words"] = []
        if transcript.duration is not None:
            body["usage"] = {"type": "duration", "seconds": math.ceil(transcript.duration)}
        return JSONResponse(body)
    return PlainTextResponse(writers.format_transcript(transcript, fmt))


def _transcription_request_schema(form_class=TranscriptionForm) -> dict:
    """The multipart body, described by hand since the endpoint parses it itself."""
    schema = form_class.model_json_schema(by_alias=True)
    properties = {name: _not_null(prop) for name, prop in schema["properties"].items()}
    schema["properties"] = {"file": {"type": "string", "format": "binary"}, **properties}
    schema["required"] = ["file"]
    schema.pop("title", None)
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


def _not_null(prop: dict) -> dict:
    """A form field is either sent or not: drop pydantic's "or null" alternative."""
    options = [option for option in prop.get("anyOf", ()) if option.get("type") != "null"]
    if len(options) != 1:
        return prop
    rest = {k: v for k, v in prop.items() if k != "anyOf"}
    return {**options[0], **rest}
