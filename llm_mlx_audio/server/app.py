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
import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Literal

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import registry
from ..audio import encode, writers
from ..audio.resampling import StreamResampler
from ..audio.speech_regions import VadOptions
from ..audio.subtitles import CUE_SECONDS_RANGE, LINE_CHARS_RANGE, LINES_RANGE
from ..errors import AudioDecodeError, AudioError, AudioTooLongError
from ..models import (
    DEFAULT_BATCH_SIZE,
    MAX_SPEED,
    MIN_SPEED,
    Audio,
    TranscriptionModel,
    check_diarization,
    check_task,
    load_samples,
    takes_keyword,
)
from ..speakers import check_names
from ..streaming import stream_speech
from ..text import prepare
from ..vocabulary import transcribe as transcribe_with
from . import (
    DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_UPLOAD_MB,
    MAX_SPEECH_INPUT,
    advert,
    form_fields,
    speaker_references,
)
from .admission import Admission, run_model_work
from .auth import ApiKeyMiddleware
from .body_limit import DEFAULT_MAX_JSON_BYTES, BodyLimit
from .browser_guard import BrowserGuard, allowed_hosts
from .errors import ApiError, from_validation_errors, install_error_handlers, log
from .names import choose_voice, model_card, models_of, resolve_model, wants_diarization
from .openai_segments import complete_segments
from .realtime import route as realtime
from .sse import SPEECH_DONE, sse
from .transcript_stream import transcript_events
from .upload import read_upload

#: OpenAI's pcm: 16-bit little-endian mono at 24 kHz.
PCM_RATE = 24000
# The formats come from the codecs and writers themselves, as on the command line.
SPEECH_FORMATS = Literal[encode.FORMATS]
# "transcript" is an extension for this machine's own `llm transcribe`: the whole Transcript.
TRANSCRIPT_FORMATS = Literal[(*writers.FORMATS, "transcript")]


class VoiceId(BaseModel):
    """OpenAI's custom-voice object, {"id": "..."}: the id is used as the voice name."""

    id: str = Field(min_length=1, max_length=256)


class SpeechRequest(BaseModel):
    """The body of POST /v1/audio/speech, as OpenAI documents it (an unknown field is refused by name)."""

    model_config = ConfigDict(extra="forbid")

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
    # An extension: the words' times and places in input too (speech_words.py; Kokoro).
    timestamps: bool = False


class ServerVadChunking(BaseModel):
    """chunking_strategy's object form: OpenAI's server VAD settings, mapped onto ours."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["server_vad"]
    threshold: float | None = Field(None, ge=0.0, le=1.0)
    prefix_padding_ms: int | None = Field(None, ge=0, le=5000)
    silence_duration_ms: int | None = Field(None, ge=0, le=30000)


class TranscriptionForm(BaseModel):
    """The form fields of POST /v1/audio/transcriptions (the file travels beside them).

    A field it does not know is refused by name (400), as OpenAI refuses one: a client
    that asks for something must not get a transcript made without it.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    model: str | None = Field(None, max_length=1024)
    language: str | None = Field(None, max_length=32)
    prompt: str | None = Field(None, max_length=4096)
    response_format: TRANSCRIPT_FORMATS = "json"
    temperature: float | None = Field(None, ge=0.0, le=1.0)
    timestamp_granularities: list[Literal["word", "segment"]] = Field(
        default_factory=list, alias="timestamp_granularities[]"
    )
    # OpenAI's newer fields: SSE events instead of one body (server/transcript_stream.py);
    # include[]=logprobs (refused: Whisper's batched decoder keeps no per-token log-probabilities);
    # chunking_strategy, which maps onto the VAD below.
    stream: bool = False
    include: list[Literal["logprobs"]] = Field(default_factory=list, alias="include[]", max_length=4)
    chunking_strategy: Literal["auto"] | ServerVadChunking | None = None
    # Extensions (this machine's own `llm transcribe` sends them to a warm server): voice
    # activity detection, its threshold and pause length, windows decoded at once, task.
    vad: bool = True
    vad_threshold: float = Field(VadOptions.threshold, ge=0.05, le=0.95)
    min_silence_ms: int = Field(VadOptions.min_silence_ms, ge=100, le=30000)
    batch_size: int = Field(DEFAULT_BATCH_SIZE, ge=1, le=64)
    task: Literal["transcribe", "translate"] = "transcribe"
    # Diarization: OpenAI's known_speaker_names[], matched by voice to the clips of
    # known_speaker_references[] (server/speaker_references.py), else given in order of
    # appearance to the speakers no enrolled voice names; diarize, speakers and
    # enrolled_speakers (false: no `llm audio speakers` names) are extensions
    # (response_format diarized_json diarizes on its own).
    known_speaker_names: list[str] = Field(default_factory=list, alias="known_speaker_names[]", max_length=20)
    known_speaker_references: list[str] = Field(
        default_factory=list, alias="known_speaker_references[]", max_length=20
    )
    enrolled_speakers: bool = True
    diarize: bool = False
    speakers: int | None = Field(None, ge=1, le=20)
    # Subtitle rules for response_format srt and vtt (extensions; audio/subtitles.py).
    max_line_chars: int | None = Field(None, ge=LINE_CHARS_RANGE[0], le=LINE_CHARS_RANGE[1])
    max_lines: int | None = Field(None, ge=LINES_RANGE[0], le=LINES_RANGE[1])
    max_cue_seconds: float | None = Field(None, ge=CUE_SECONDS_RANGE[0], le=CUE_SECONDS_RANGE[1])
    highlight_words: bool = False
    # Extension: terms and heard=meant corrections for this request, added to the stored
    # vocabulary (`llm audio vocabulary`): repeated fields, or commas or newlines in one.
    vocabulary: list[str] = Field(default_factory=list, alias="vocabulary[]", max_length=1000)


class TranslationForm(BaseModel):
    """The form fields of POST /v1/audio/translations: OpenAI's (speech in any language to English)."""

    model_config = ConfigDict(extra="forbid")

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

    @app.get("/v1/audio/models")
    def audio_models():
        # Open WebUI's TTS settings read {"models": [{"id", "name"}]}; OpenAI-style list readers
        # read "data". The speech models only: this is the list a speech client picks from.
        cards = [model_card("speech", m) for m in models_of("speech")]
        return {"object": "list", "data": cards, "models": [{"id": c["id"], "name": c["id"]} for c in cards]}

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
    if body.timestamps:
        from .speech_words import timed_speech

        chunks = model.iter_speech(body.input, **options)
        sse = body.stream_format == "sse"
        return timed_speech(model, chunks, body.response_format, sse, floats, _encode_stream, _drain)
    if floats and body.stream_format is None:
        audio = Audio.join(model.iter_speech(body.input, **options))
        return Response(
            _float32(audio.samples), media_type=media_type, headers={"X-Sample-Rate": str(audio.sample_rate)}
        )
    if body.normalize and not prepare(body.input).strip():
        raise AudioError("No text to speak: the input is only code, emoji or markup")
    # Without stream_format the answer streams too, as OpenAI's does: a chunked body of the
    # same audio as stream_format "audio", whose first bytes follow the first sentence.
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
    rate = first.sample_rate if floats or body.response_format != "pcm" else PCM_RATE
    headers = {"X-Sample-Rate": str(rate)}
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
    """The bytes of fmt for chunks as they come (floats: raw little-endian float32).

    pcm is 16-bit mono at 24 kHz whatever the model's rate, as OpenAI documents it (clients
    play it without being told a rate); other formats carry their rate in their header.
    """
    rate = PCM_RATE if fmt == "pcm" and not floats else first.sample_rate
    encoder = None if floats else encode.StreamEncoder(fmt, rate)
    write = _float32 if encoder is None else encoder.write
    resample = StreamResampler(first.sample_rate, rate)
    try:
        yield write(resample(first.samples))
        for chunk in rest:
            yield write(resample(chunk.samples))
        if encoder is not None:
            tail = resample(None)
            yield (write(tail) if len(tail) else b"") + encoder.close()
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
                yield sse(event)
        yield sse(SPEECH_DONE)
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
    values = form_fields.gather(fields)
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
    cue_rules = _subtitle_rules(form)
    try:
        check_task(model, form.task)
    except AudioError as error:
        raise ApiError(400, str(error), param="model", code="translation_unsupported") from None
    if getattr(form, "include", None):
        raise ApiError(
            400,
            "include[]=logprobs is not available: this server's Whisper keeps no per-token log-probabilities",
            param="include[]",
            code="unsupported_parameter",
        )
    stream = getattr(form, "stream", False)
    if stream and form.response_format not in ("json", "text", "diarized_json"):
        raise ApiError(400, "stream=true needs response_format json, text or diarized_json", param="stream")
    diarize = getattr(form, "diarize", False) or form.response_format == "diarized_json"
    diarize = diarize or wants_diarization(form.model)
    names = getattr(form, "known_speaker_names", [])
    references = getattr(form, "known_speaker_references", [])
    diarize = diarize or bool(names) or bool(references)
    if diarize:
        try:
            check_diarization(model, True)
            check_names(names, getattr(form, "speakers", None))
        except AudioError as error:
            raise ApiError(400, str(error), param="model", code="diarization_unsupported") from None
    extra = {"diarize": True, "speakers": getattr(form, "speakers", None)} if diarize else {}
    known = speaker_references.voices(names, references) if references else None
    enrolled = diarize and getattr(form, "enrolled_speakers", True)
    vocabulary = _vocabulary(getattr(form, "vocabulary", []))
    vad, vad_options = _vad_settings(form)
    options = dict(
        language=form.language,
        prompt=form.prompt if model.supports_prompt else None,
        temperature=form.temperature if model.supports_temperature else None,
        # Subtitle cues are cut at word times: computed when the model can give them.
        word_timestamps=words or (cue_rules is not None and model.supports_word_timestamps),
        task=form.task,
        vad=vad,
        vad_options=vad_options,
        batch_size=form.batch_size,
        **extra,
    )
    if stream:
        # Decoded before the events start, so a bad or too long upload still gets its status.
        with _upload_errors(filename, max_seconds):
            samples = load_samples(data, model.input_sample_rate, max_seconds=max_seconds)
        takes_hook = takes_keyword(model.transcribe, "on_segments")

        def run(on_segments):
            hook = {"on_segments": on_segments} if takes_hook else {}
            transcript = transcribe_with(model, samples, vocabulary, None, **options, **hook)
            return speaker_references.name_speakers(transcript, names, known, enrolled)

        events = transcript_events(run, diarized=diarize)
        return StreamingResponse(_drain(events), media_type="text/event-stream")
    with _upload_errors(filename, max_seconds):
        transcript = transcribe_with(model, data, vocabulary, max_seconds, **options)
    speaker_references.name_speakers(transcript, names, known, enrolled)
    return _transcript_answer(transcript, form.response_format, granularities, cue_rules)


def _subtitle_rules(form) -> dict | None:
    """format_transcript's subtitle keywords for srt and vtt (None for other formats, which
    refuse the fields: a client asking for them would otherwise get no sign they were unused)."""
    given = {
        name: getattr(form, name, None)
        for name in ("max_line_chars", "max_lines", "max_cue_seconds", "highlight_words")
        if getattr(form, name, None) not in (None, False)
    }
    if form.response_format not in ("srt", "vtt"):
        if given:
            name = next(iter(given))
            raise ApiError(400, f"{name} needs response_format srt or vtt", param=name)
        return None
    return given


@contextlib.contextmanager
def _upload_errors(filename: str | None, max_seconds: float | None):
    """An upload that is too long or cannot be decoded, as the API's 413 or 400."""
    try:
        yield
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


def _vocabulary(field: list[str]):
    """The stored vocabulary plus the request's ``vocabulary`` field; a bad entry is a 400 naming it."""
    from ..vocabulary import for_run, from_field

    try:
        return for_run().merged(from_field(field))
    except AudioError as error:
        raise ApiError(400, f"vocabulary: {error}", param="vocabulary") from None


def _vad_settings(form: TranscriptionForm) -> tuple[bool, VadOptions]:
    """The VAD's settings: the extension fields, or OpenAI's chunking_strategy when it is sent.

    "auto" is what this server does anyway (Silero VAD cuts the speech into windows); a
    server_vad object's threshold, prefix padding and silence length become the VAD's.
    """
    options = VadOptions(threshold=form.vad_threshold, min_silence_ms=form.min_silence_ms)
    strategy = getattr(form, "chunking_strategy", None)
    if strategy is None:
        return form.vad, options
    if isinstance(strategy, ServerVadChunking):
        changes = {}
        if strategy.threshold is not None:
            changes["threshold"] = min(max(strategy.threshold, 0.05), 0.95)
        if strategy.silence_duration_ms is not None:
            changes["min_silence_ms"] = max(strategy.silence_duration_ms, 100)
        if strategy.prefix_padding_ms is not None:
            changes["pad_ms"] = strategy.prefix_padding_ms
        options = dataclasses.replace(options, **changes)
    return True, options


def _transcript_answer(transcript, fmt: str, granularities: set, cue_rules: dict | None = None) -> Response:
    """The transcript in OpenAI's shape for fmt, with the content type that shape has."""
    words = "word" in granularities
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
        if "segments" in body:
            body["segments"] = complete_segments(body["segments"], transcript.segments)
        if transcript.duration is not None:
            body["usage"] = {"type": "duration", "seconds": math.ceil(transcript.duration)}
        return JSONResponse(body)
    if fmt == "diarized_json":
        return JSONResponse(writers.as_diarized_json(transcript))
    text = writers.format_transcript(transcript, fmt, **(cue_rules or {}))
    return Response(text, media_type=writers.MIME_TYPES[fmt])


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
