"""Transcription models as llm models: `llm -m whisper-tiny.en -a memo.m4a`.

Every registered transcription model is also registered with llm, so it shows in
`llm models`, takes audio attachments, answers with the transcript, and is logged
to logs.db like any prompt. A transcription model does not chat: conversations
are refused.
"""

from pathlib import Path

import llm
from pydantic import Field, field_validator

from .errors import AudioError

# What llm detects for audio files, and what browsers and phones send: m4a is
# video/mp4 to llm's detector, ogg may be audio/ogg or application/ogg.
AUDIO_ATTACHMENT_TYPES = frozenset(
    {
        "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave",
        "audio/mpeg", "audio/mp3",
        "audio/flac", "audio/x-flac",
        "audio/ogg", "application/ogg", "audio/opus",
        "audio/webm", "video/webm",
        "audio/mp4", "audio/m4a", "audio/x-m4a", "audio/aac", "audio/x-aac",
        "video/mp4", "video/quicktime", "video/x-matroska",
    }
)  # fmt: skip


def attachment_type(path: str | None) -> str:
    """An accepted mime type for a file llm would otherwise sniff (and may misjudge)."""
    import mimetypes

    guessed = mimetypes.guess_type(path)[0] if path else None
    return guessed if guessed in AUDIO_ATTACHMENT_TYPES else "audio/wav"


class TranscriptionLLMModel(llm.Model):
    can_stream = False
    supports_conversation = False
    attachment_types = AUDIO_ATTACHMENT_TYPES

    class Options(llm.Options):
        language: str | None = Field(None, description="Language code, e.g. en (default: detect)")
        response_format: str | None = Field(
            None, description="text, json, verbose_json, srt or vtt (default: text)"
        )
        temperature: float | None = Field(None, description="Sampling temperature, 0 to 1")
        initial_prompt: str | None = Field(
            None, description="Initial prompt: names, spellings, style (the prompt text works too)"
        )
        task: str | None = Field(
            None, description="transcribe (default) or translate: English text from any language"
        )

        @field_validator("task")
        @classmethod
        def known_task(cls, value):
            from .models import TASKS

            if value is not None and value not in TASKS:
                raise ValueError(f"task must be one of {', '.join(TASKS)}")
            return value

        @field_validator("response_format")
        @classmethod
        def known_format(cls, value):
            from .audio.writers import FORMATS

            if value is not None and value not in FORMATS:
                raise ValueError(f"response_format must be one of {', '.join(FORMATS)}")
            return value

        @field_validator("temperature")
        @classmethod
        def temperature_range(cls, value):
            if value is not None and not 0 <= value <= 1:
                raise ValueError("temperature must be between 0 and 1")
            return value

    def __init__(self, model_id: str, transcripts=None):
        self.model_id = model_id
        # Transcripts already made (by `llm transcribe`), one per attachment: the prompt
        # is then only logged, never transcribed a second time.
        self._transcripts = list(transcripts) if transcripts is not None else None

    def __str__(self):
        return f"MLX transcription: {self.model_id}"

    def execute(self, prompt, stream, response, conversation):
        from .audio.writers import format_transcript
        from .registry import find_model

        if conversation is not None and conversation.responses:
            raise llm.ModelError(f"{self.model_id} transcribes audio; it does not hold conversations")
        if not prompt.attachments:
            raise llm.ModelError(
                f"{self.model_id} transcribes audio: attach a file with -a, e.g. llm -m {self.model_id} -a memo.m4a"
            )
        options = prompt.options
        format = options.response_format or "text"
        transcripts = self._transcripts
        if transcripts is None:
            model = find_model("transcription", self.model_id)
            transcripts = [self._transcribe(model, attachment, prompt) for attachment in prompt.attachments]
        outputs = [format_transcript(t, format).rstrip("\n") for t in transcripts]
        # Kept in logs.db's response_json: segments, words and language, not just the text.
        response.response_json = {"transcripts": [t.to_dict() for t in transcripts]}
        yield "\n\n".join(outputs)

    @staticmethod
    def _transcribe(model, attachment, prompt):
        from .vocabulary import for_run, transcribe

        options = prompt.options
        try:
            return transcribe(
                model,
                attachment.path or attachment.content_bytes(),
                for_run(),  # the stored vocabulary
                language=options.language,
                prompt=options.initial_prompt or (prompt.prompt or None),
                temperature=options.temperature,
                task=options.task or "transcribe",
                # Subtitle cues are cut at word times: computed when the model can give them.
                word_timestamps=options.response_format in ("srt", "vtt") and model.supports_word_timestamps,
            )
        except AudioError as e:
            raise llm.ModelError(str(e)) from None


def log_transcript(model_id: str, source, transcript, options: dict) -> None:
    """Log a transcript `llm transcribe` already made to logs.db, as the prompt
    `llm -m MODEL -a FILE` would be (same model id, attachment and options)."""
    if isinstance(source, str):
        from .transcript_cache import content_hash

        path = str(Path(source).resolve())
        attachment = llm.Attachment(path=path, type=attachment_type(path))
        # llm hashes a path attachment by reading the whole file into memory (an hour of
        # wav is 115 MB): hash it in blocks instead, to the same sha256.
        attachment._id = content_hash(path)
    else:
        attachment = llm.Attachment(content=source, type=attachment_type(None))
    llm_options = {
        "language": options.get("language"),
        "temperature": options.get("temperature"),
        "initial_prompt": options.get("prompt"),
        "task": None if options.get("task", "transcribe") == "transcribe" else options["task"],
    }
    llm_options = {k: v for k, v in llm_options.items() if v is not None}
    model = TranscriptionLLMModel(model_id, transcripts=[transcript])
    response = model.prompt("", attachments=[attachment], stream=False, **llm_options)
    response.text()
    log_response(response)


def log_response(response) -> None:
    """Log an llm response (or chain of them) to llm's logs.db, as `llm` and `llm chat` do."""
    import sqlite_utils
    from llm.migrations import migrate  # llm has no public call for this

    path = llm.user_dir() / "logs.db"
    db = sqlite_utils.Database(path)
    if path not in _migrated:  # once per process: `llm transcribe *.mp3` logs every file
        migrate(db)
        _migrated.add(path)
    response.log_to_db(db)


_migrated: set = set()


def logging_on() -> bool:
    """llm logs every prompt unless `llm logs off` has left its marker file."""
    return not (llm.user_dir() / "logs-off").exists()


def register(register_model) -> None:
    """Register every transcription model (from any plugin) with llm."""
    from .registry import registered_models

    for model_id, registered in registered_models("transcription").items():
        register_model(TranscriptionLLMModel(model_id), aliases=registered.aliases or None)
