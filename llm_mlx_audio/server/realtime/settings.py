"""A Realtime session's settings, and the session.update events that change them.

Two spellings reach this server: the GA one (``session.update`` with
``session.type`` and ``session.audio.input.{format,transcription,turn_detection}``)
and the beta one (``transcription_session.update`` or ``session.update`` with
``input_audio_format``, ``input_audio_transcription``, ``turn_detection`` at the top).
Both land in the same ``Settings``. A value this server cannot honour is refused in an
error event that names it (``param``), never ignored; unknown keys OpenAI defines but
that change nothing here (noise reduction, include, tracing) are accepted.
"""

from __future__ import annotations

import copy
import dataclasses

from .events import RealtimeError

#: OpenAI's rate for audio/pcm; clients may say another, from 8 to 48 kHz.
DEFAULT_RATE = 24000
RATES = (8000, 48000)
PCM_FORMATS = {"audio/pcm", "pcm16"}


@dataclasses.dataclass
class TurnDetection:
    """server_vad's knobs, OpenAI's defaults."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    #: Conversation sessions: a finished turn is answered at once; speech during an answer stops it.
    create_response: bool = True
    interrupt_response: bool = True


@dataclasses.dataclass
class Settings:
    type: str = "realtime"  # or "transcription"
    rate: int = DEFAULT_RATE
    #: The transcription model (a model id, alias or OpenAI name; None: the default).
    transcription_model: str | None = None
    language: str | None = None
    prompt: str | None = None
    #: Whether input audio is transcribed at all (transcription sessions always are).
    transcribe: bool = False
    turn_detection: TurnDetection | None = dataclasses.field(default_factory=TurnDetection)
    # Conversation sessions: the llm model that answers, its instructions, tools and voice.
    model: str | None = None
    instructions: str | None = None
    voice: str | None = None
    tools: list[str] = dataclasses.field(default_factory=list)
    output_rate: int = DEFAULT_RATE
    #: ["audio"] (speech, with its transcript) or ["text"].
    output_modalities: list[str] = dataclasses.field(default_factory=lambda: ["audio"])


def updated(settings: Settings, session: dict, beta: bool = False) -> Settings:
    """settings with session (the ``session`` of an update event) applied, or RealtimeError."""
    if not isinstance(session, dict):
        raise RealtimeError("session must be an object", param="session")
    new = copy.deepcopy(settings)
    kind = session.get("type")
    if beta:
        new.type = "transcription"
    elif kind is not None:
        if kind not in ("realtime", "transcription"):
            raise RealtimeError(
                f"session.type must be 'realtime' or 'transcription', not {kind!r}", param="session.type"
            )
        new.type = kind
    if new.type == "transcription":
        new.transcribe = True
    audio_input = _object(session, "audio", "session.audio").get("input")
    audio_input = _object({"input": audio_input}, "input", "session.audio.input")
    if "format" in audio_input:
        new.rate = _input_rate(audio_input["format"], "session.audio.input.format")
    if "input_audio_format" in session:
        new.rate = _input_rate(session["input_audio_format"], "session.input_audio_format")
    for key, prefix in (
        ("transcription", "session.audio.input.transcription"),
        ("input_audio_transcription", "session.input_audio_transcription"),
    ):
        source = audio_input if key == "transcription" else session
        if key in source:
            _transcription(new, source[key], prefix)
    for source, prefix in ((audio_input, "session.audio.input"), (session, "session")):
        if "turn_detection" in source:
            new.turn_detection = _turn_detection(source["turn_detection"], f"{prefix}.turn_detection")
    _conversation(new, session)
    return new


def _object(parent: dict, key: str, param: str) -> dict:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RealtimeError(f"{param} must be an object", param=param)
    return value


def _input_rate(value, param: str) -> int:
    """The sample rate of the client's pcm16 (only raw 16-bit pcm is taken)."""
    if isinstance(value, str):
        kind, rate = value, DEFAULT_RATE
    elif isinstance(value, dict):
        kind, rate = value.get("type"), value.get("rate", DEFAULT_RATE)
    else:
        raise RealtimeError(f"{param} must be an object such as {{'type': 'audio/pcm'}}", param=param)
    if kind not in PCM_FORMATS:
        raise RealtimeError(
            f"{param}: only 16-bit pcm ('audio/pcm') is taken here, not {kind!r}",
            code="unsupported_format",
            param=param,
        )
    if not isinstance(rate, int) or isinstance(rate, bool) or not RATES[0] <= rate <= RATES[1]:
        raise RealtimeError(
            f"{param}.rate must be a whole number of Hz from {RATES[0]} to {RATES[1]}", param=f"{param}.rate"
        )
    return rate


def _transcription(settings: Settings, value, param: str) -> None:
    if value is None:
        settings.transcribe = settings.type == "transcription"
        return
    if not isinstance(value, dict):
        raise RealtimeError(f"{param} must be an object or null", param=param)
    for key in ("model", "language", "prompt"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise RealtimeError(f"{param}.{key} must be a string", param=f"{param}.{key}")
    if len(value.get("prompt") or "") > 4096:
        raise RealtimeError(f"{param}.prompt is longer than 4096 characters", param=f"{param}.prompt")
    settings.transcribe = True
    if "model" in value:
        settings.transcription_model = value["model"] or None
    if "language" in value:
        settings.language = value["language"] or None
    if "prompt" in value:
        settings.prompt = value["prompt"] or None


def _turn_detection(value, param: str) -> TurnDetection | None:
    """server_vad, or None (the client commits); semantic_vad is refused by name."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RealtimeError(f"{param} must be an object or null", param=param)
    kind = value.get("type", "server_vad")
    if kind != "server_vad":
        raise RealtimeError(
            f"{param}.type {kind!r} is not served here: use 'server_vad' or null",
            code="unsupported_turn_detection",
            param=f"{param}.type",
        )
    detection = TurnDetection()
    limits = {"threshold": (0.05, 0.95), "prefix_padding_ms": (0, 2000), "silence_duration_ms": (100, 10000)}
    for key, (low, high) in limits.items():
        if value.get(key) is None:
            continue
        number = value[key]
        if isinstance(number, bool) or not isinstance(number, int | float) or not low <= number <= high:
            raise RealtimeError(f"{param}.{key} must be from {low} to {high}", param=f"{param}.{key}")
        setattr(detection, key, type(getattr(detection, key))(number))
    for key in ("create_response", "interrupt_response"):
        if value.get(key) is not None:
            if not isinstance(value[key], bool):
                raise RealtimeError(f"{param}.{key} must be true or false", param=f"{param}.{key}")
            setattr(detection, key, value[key])
    return detection


def _conversation(settings: Settings, session: dict) -> None:
    """The responder's settings of a conversation session (realtime type)."""
    for key in ("model", "instructions"):
        if session.get(key) is not None:
            if not isinstance(session[key], str):
                raise RealtimeError(f"session.{key} must be a string", param=f"session.{key}")
            setattr(settings, key, session[key])
    output = _object(_object(session, "audio", "session.audio"), "output", "session.audio.output")
    voice = output.get("voice", session.get("voice"))
    if voice is not None:
        if not isinstance(voice, str):
            raise RealtimeError(
                "session.audio.output.voice must be a string", param="session.audio.output.voice"
            )
        settings.voice = voice
    if "format" in output:
        rate = _input_rate(output["format"], "session.audio.output.format")
        settings.output_rate = rate
    for key in ("output_modalities", "modalities"):
        if session.get(key) is not None:
            settings.output_modalities = _modalities(session[key], f"session.{key}")
    tools = session.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise RealtimeError("session.tools must be a list", param="session.tools")
        names = []
        for index, tool in enumerate(tools):
            name = tool.get("name") if isinstance(tool, dict) else tool
            if not isinstance(name, str) or not name:
                raise RealtimeError("each tool needs a name", param=f"session.tools[{index}]")
            names.append(name)
        settings.tools = names


def _modalities(value, param: str) -> list[str]:
    """["audio"] or ["text"] (the beta's ["text", "audio"] means audio, with its transcript)."""
    if not isinstance(value, list) or not value or not set(value) <= {"text", "audio"}:
        raise RealtimeError(f"{param} must be ['audio'] or ['text']", param=param)
    return ["audio"] if "audio" in value else ["text"]


def session_object(settings: Settings, session_id: str) -> dict:
    """The session as session.created / session.updated describe it."""
    detection = settings.turn_detection
    audio_input = {
        "format": {"type": "audio/pcm", "rate": settings.rate},
        "noise_reduction": None,
        "transcription": (
            {
                "model": settings.transcription_model or "whisper-1",
                "language": settings.language,
                "prompt": settings.prompt or "",
            }
            if settings.transcribe
            else None
        ),
        "turn_detection": None
        if detection is None
        else {
            "type": "server_vad",
            **dataclasses.asdict(detection),
            "create_response": settings.type == "realtime" and detection.create_response,
        },
    }
    session = {"id": session_id, "type": settings.type, "audio": {"input": audio_input}, "include": []}
    if settings.type == "transcription":
        session["object"] = "realtime.transcription_session"
    else:
        session.update(
            object="realtime.session",
            model=settings.model,
            instructions=settings.instructions or "",
            output_modalities=list(settings.output_modalities),
            tools=[{"type": "function", "name": name} for name in settings.tools],
        )
        session["audio"]["output"] = {
            "format": {"type": "audio/pcm", "rate": settings.output_rate},
            "voice": settings.voice,
        }
    return session
