"""llm-mlx-audio: `llm speak` and `llm transcribe` on local MLX models.

It imports neither llm nor any engine: llm's hooks live in hooks.py (the entry
point), and models are looked up only when asked for. The public Python API:

    import llm_mlx_audio
    audio = llm_mlx_audio.get_speech_model().speak("Hello there")
    audio.save("hello.mp3")
    transcript = llm_mlx_audio.get_transcription_model().transcribe("hello.mp3")
"""

from .errors import AudioError, UnknownModelError
from .models import Audio, Segment, SpeechModel, Transcript, TranscriptionModel, Word

__all__ = [
    "Audio",
    "AudioError",
    "Segment",
    "SpeechModel",
    "Transcript",
    "TranscriptionModel",
    "UnknownModelError",
    "Word",
    "get_speech_model",
    "get_transcription_model",
    "speech_models",
    "stream_speech",
    "transcription_models",
]


def get_speech_model(name=None) -> SpeechModel:
    """A speech model by id or alias; the default one when name is None."""
    from .registry import find_model

    return find_model("speech", name)


def get_transcription_model(name=None) -> TranscriptionModel:
    """A transcription model by id or alias; the default one when name is None."""
    from .registry import find_model

    return find_model("transcription", name)


def stream_speech(model, pieces, voice=None, speed=1.0, language=None, normalize=True):
    """Iterator of text pieces in (LLM tokens, lines...), iterator of Audio chunks out:
    sentences are synthesized as soon as they are complete, in the same pieces as the
    whole text (so the audio is the whole text's). Kokoro's chunks carry their words,
    each with its place in all the pieces joined. normalize=False speaks the text as
    given instead of reading it as Markdown."""
    from .streaming import stream_speech as stream

    return stream(model, pieces, voice=voice, speed=speed, language=language, normalize=normalize)


def speech_models():
    """Every registered speech model."""
    from .registry import registered_models

    return [r.model for r in registered_models("speech").values()]


def transcription_models():
    """Every registered transcription model."""
    from .registry import registered_models

    return [r.model for r in registered_models("transcription").values()]
