"""Transcription models as llm models: `llm -m whisper-tiny.en -a memo.m4a`.

Every registered transcription model is also registered with llm, so it shows in
`llm models`, takes audio attachments, answers with the transcript, and is logged
to logs.db like any prompt. A transcription model does not chat: conversations
are refused.
"""

from typing import Optional

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
)


def attachment_type(path: Optional[str]) -> str:
    """An accepted mime type for a file llm would otherwise sniff (and may misjudge)."""
    import mimetypes

    guessed = mimetypes.guess_type(path)[0] if path else None
    return guessed if guessed in AUDIO_ATTACHMENT_TYPES else "audio/wav"


class TranscriptionLLMModel(llm.Model):
    can_stream = False
    supports_conversation = False
    attachment_types = AUDIO_ATTACHMENT_TYPES

    class Options(llm.Options):
        language: Optional[str] = Field(None, description="Language code, e.g. en (default: detect)")
        response_format: Optional[str] = Field(
            None, description="text, json, verbose_json, srt or vtt (default: text)"
        )
        temperature: Optional[float] = Field(None, description="Sampling temperature, 0 to 1")
        initial_prompt: Optional[str] = Field(
            None, description="Initial prompt: names, spellings, style (the prompt text works too)"
        )

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

    def __init__(self, model_id: str):
        self.model_id = model_id

    def __str__(self):
        return f"MLX transcription: {self.model_id}"

    def execute(self, prompt, stream, response, conversation):
        from .registry import find_model
        from .audio.writers import format_transcript

        if conversation is not None and conversation.responses:
            raise llm.ModelError(f"{self.model_id} transcribes audio; it does not hold conversations")
        if not prompt.attachments:
            raise llm.ModelError(
                f"{self.model_id} transcribes audio: attach a file with -a, e.g. llm -m {self.model_id} -a memo.m4a"
            )
        options = prompt.options
        format = options.response_format or "text"
        model = find_model("transcription", self.model_id)
        outputs, transcripts = [], []
        for attachment in prompt.attachments:
            source = attachment.path or attachment.content_bytes()
            try:
                transcript = model.transcribe(
                    source,
                    language=options.language,
                    prompt=options.initial_prompt or (prompt.prompt or None),
                    temperature=options.temperature,
                )
            except AudioError as e:
                raise llm.ModelError(str(e)) from None
            outputs.append(format_transcript(transcript, format).rstrip("\n"))
            transcripts.append(transcript.to_dict())
        # Kept in logs.db's response_json, and how `llm transcribe` gets the Transcript back.
        response.response_json = {"transcripts": transcripts}
        yield "\n\n".join(outputs)


def register(register_model) -> None:
    """Register every transcription model (from any plugin) with llm."""
    from .registry import registered_models

    for model_id, registered in registered_models("transcription").items():
        register_model(TranscriptionLLMModel(model_id), aliases=registered.aliases or None)
