"""What the plugin gives to the rest of llm: the transcript: fragment loader and tools.

`llm -f transcript:memo.m4a "list the action items"` feeds a transcript to any
model; transcribe_audio and speak let a tool-calling model listen and talk.
"""

from pathlib import Path

import llm


def transcript_fragment(argument: str) -> llm.Fragment:
    """Transcribe an audio file (default transcription model) as a fragment.

    The transcript is cached by the file's content hash, so reusing the same
    memo does not transcribe it again.
    """
    return _fragment(argument, diarize=False)


def diarized_transcript_fragment(argument: str) -> llm.Fragment:
    """`-f transcript_diarized:meeting.m4a`: the transcript as a line per speaker turn
    (SPEAKER_1: ...), so a model can say who promised what."""
    return _fragment(argument, diarize=True)


def _fragment(argument: str, diarize: bool) -> llm.Fragment:
    from . import transcript_cache
    from .audio.writers import format_transcript
    from .errors import AudioError
    from .registry import find_model

    path = Path(argument).expanduser()
    if not path.is_file():
        raise ValueError(f"{argument}: no such audio file")
    model = find_model("transcription", None)
    key = model.model_id + (" diarized" if diarize else "")
    digest = transcript_cache.content_hash(path)
    transcript = transcript_cache.lookup(digest, key)
    if transcript is None:
        try:
            transcript = model.transcribe(str(path), diarize=True) if diarize else model.transcribe(str(path))
        except AudioError as error:
            raise ValueError(str(error)) from None
        transcript_cache.store(digest, key, transcript)
    prefix = "transcript_diarized" if diarize else "transcript"
    text = format_transcript(transcript, "text").rstrip("\n") if diarize else transcript.text
    return llm.Fragment(text, f"{prefix}:{path.resolve()}")


def transcribe_audio(path: str, language: str | None = None) -> str:
    """Transcribe the speech in an audio or video file (wav, mp3, m4a, ogg, webm, mp4...)
    and return the text. language is a code like "en"; leave it out to detect it."""
    from .registry import find_model

    return find_model("transcription", None).transcribe(path, language=language).text


def speak(text: str, output_path: str | None = None, voice: str | None = None) -> str:
    """Speak text aloud through the speakers, or save it as an audio file when
    output_path is given (format from its extension: .wav, .mp3, .flac, .opus, .aac).
    Returns where the audio went."""
    from .registry import find_model

    audio = find_model("speech", None).speak(text, voice=voice)
    if output_path:
        audio.save(output_path)
        return f"Saved {audio.duration:.1f} seconds of speech to {output_path}"
    from .audio.playback import check_playback, play_audio

    check_playback()
    play_audio(audio)
    return f"Played {audio.duration:.1f} seconds of speech"
