"""What the plugin gives to the rest of llm: the transcript: fragment loader and tools.

`llm -f transcript:memo.m4a "list the action items"` feeds a transcript to any
model; transcribe_audio and speak let a tool-calling model listen and talk, in one
folder only (tools_folder) and without ever overwriting a file.
"""

import os
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
    from .vocabulary import for_run, transcribe

    model = find_model("transcription", None)
    try:
        vocabulary = for_run()  # the stored one: a fragment has no options to add to it
    except AudioError as error:
        raise ValueError(str(error)) from None
    key = model.model_id + (" diarized" if diarize else "")
    if vocabulary:  # another vocabulary transcribes afresh
        key += " vocabulary " + vocabulary.fingerprint()
    if diarize:  # speakers are named by the voices enrolled now: enrolling another transcribes afresh
        from .speakers import enrolled, matching

        key += enrolled.fingerprint()
    digest = transcript_cache.content_hash(path)
    transcript = transcript_cache.lookup(digest, key)
    if transcript is None:
        try:
            transcript = transcribe(model, str(path), vocabulary, **({"diarize": True} if diarize else {}))
            if diarize:
                matching.name_enrolled(transcript)
        except AudioError as error:
            raise ValueError(str(error)) from None
        transcript_cache.store(digest, key, transcript)
    prefix = "transcript_diarized" if diarize else "transcript"
    text = format_transcript(transcript, "text").rstrip("\n") if diarize else transcript.text
    return llm.Fragment(text, f"{prefix}:{path.resolve()}")


def transcribe_audio(path: str, language: str | None = None) -> str:
    """Transcribe the speech in an audio or video file (wav, mp3, m4a, ogg, webm, mp4...)
    and return the text. language is a code like "en"; leave it out to detect it.
    Only files inside the working folder can be read: the current directory, or
    LLM_MLX_AUDIO_TOOLS_DIR when set; relative paths start there."""
    from .registry import find_model

    source = _inside("transcribe_audio", "read", path)
    from .vocabulary import for_run, transcribe

    return transcribe(find_model("transcription", None), str(source), for_run(), language=language).text


def speak(text: str, output_path: str | None = None, voice: str | None = None) -> str:
    """Speak text aloud through the speakers, or save it as a new audio file when
    output_path is given (format from its extension: .wav, .mp3, .flac, .opus, .aac).
    output_path must be inside the working folder (the current directory, or
    LLM_MLX_AUDIO_TOOLS_DIR when set) and must not exist yet. Returns where the audio went."""
    from .registry import find_model

    target = _new_file(output_path) if output_path else None
    audio = find_model("speech", None).speak(text, voice=voice)
    if target is not None:
        from .audio.encode import format_from_path
        from .files import write_new

        write_new(target, audio.to_bytes(format_from_path(target) or "wav"))
        return f"Saved {audio.duration:.1f} seconds of speech to {output_path}"
    from .audio.playback import check_playback, play_audio

    check_playback()
    play_audio(audio)
    return f"Played {audio.duration:.1f} seconds of speech"


TOOLS_DIR_VARIABLE = "LLM_MLX_AUDIO_TOOLS_DIR"


def tools_folder() -> Path:
    """The one folder the tools act in. A model can be talked into anything by the
    text it reads (prompt injection): it must not read ~/.ssh or overwrite ~/.bashrc."""
    configured = os.environ.get(TOOLS_DIR_VARIABLE)
    folder = Path(configured).expanduser().resolve() if configured else Path.cwd().resolve()
    if not folder.is_dir():
        raise ValueError(f"{TOOLS_DIR_VARIABLE} is not a folder: {configured}")
    return folder


def _inside(tool: str, verb: str, path: str) -> Path:
    """path with ~, .., and every symlink resolved (relative paths start in the folder);
    refused, as a message the model reads, when that lands outside the folder."""
    folder = tools_folder()
    resolved = (folder / Path(path).expanduser()).resolve()
    if folder not in resolved.parents:
        raise ValueError(f"{tool} can only {verb} files inside {folder}: {path} is outside")
    return resolved


def _new_file(path: str) -> Path:
    """Where speak may create path, checked before any speech is made."""
    target = _inside("speak", "write", path)
    if target.exists():
        raise ValueError(f"speak will not overwrite {path}: it already exists")
    if not target.parent.is_dir():
        raise ValueError(f"speak cannot write {path}: its folder does not exist")
    return target
