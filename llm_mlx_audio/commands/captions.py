"""`llm speak --captions FILE`: when each word of the input is said, as srt, vtt or json.

The times are the speech model's own (Kokoro's predicted durations, engine/word_timing.py)
and the words are the user's, with their place in the input (text/spans.py): "**Bold**" is
"Bold" at 2..6, "1,234" one word though four are said, a URL one word though its host is
said. srt and vtt cues are cut by the transcript writers' subtitle rules (audio/subtitles.py).

With --stream the captions file is rewritten (whole, by rename) after every chunk of audio,
so it grows with the speech and is never half-written. A whole text is said in the same
pieces as a stream (models.SpeechModel.iter_speech, text/sentences.py's speech_pieces), so the
streamed captions are the whole text's, times and all.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from ..errors import AudioError

FORMATS = ("srt", "vtt", "json")
NO_DURATIONS = "Captions need a model that reports word durations (Kokoro); {model} does not"
# What may follow a word in the source before its punctuation: closing markup and quotes.
_CLOSERS = "*_~`)]\"'”’»"
_PUNCTUATION = ".,;:!?…"


def options(command):
    """The --captions and --captions-format options of `llm speak`."""
    command = click.option(
        "--captions-format",
        type=click.Choice(FORMATS),
        help="Captions format (default: from the --captions extension)",
    )(command)
    return click.option(
        "--captions",
        "captions_path",
        metavar="FILE",
        help="Also write when each word is said (.srt, .vtt or .json); needs a model with "
        "word durations (Kokoro)",
    )(command)


def start(
    captions_path: str | None, captions_format: str | None, *, raw: bool, stream: bool
) -> Captions | None:
    """Captions to record, checked before any speech is made (None when not asked for)."""
    path, format = captions_path, captions_format
    if not path:
        if format:
            raise AudioError("--captions-format needs --captions FILE")
        return None
    from ..files import check_writable

    format = format or Path(path).suffix.lower().lstrip(".")
    if format not in FORMATS:
        raise AudioError(
            f"Cannot tell the captions format of {path}; use .srt, .vtt or .json, or --captions-format"
        )
    check_writable(path)
    return Captions(Path(path), format, normalize=not raw, stream=stream)


class Captions:
    """Collects the words of the audio chunks as they pass and writes the captions file."""

    def __init__(self, path: Path, format: str, *, normalize: bool, stream: bool):
        self.path, self.format, self.normalize, self.stream = path, format, normalize, stream
        self.source = ""
        self.model_id = "this model"
        self._written = False

    def reading(self, pieces: Iterable[str]) -> Iterator[str]:
        """The input pieces, kept as they pass (--stream: the text the captions quote)."""
        for piece in pieces:
            self.source += piece
            yield piece

    def recording(self, chunks: Iterator, text: str | None = None, model_id: str = "") -> Iterator:
        """The chunks unchanged; their words collected and written when the audio ends.

        The chunks' words are already placed in the input (``text``, or with --stream the
        pieces read: streaming.stream_speech places them as it goes).
        """
        if text is not None:
            self.source = text
        model_id = model_id or self.model_id
        words, offset = [], 0.0
        try:
            for chunk in chunks:
                if chunk.words is None:
                    raise AudioError(NO_DURATIONS.format(model=model_id))
                words += [_shifted(w, offset) for w in chunk.words]
                offset += chunk.duration
                yield chunk
                if self.stream:
                    self._write(words, offset)
            if not offset:
                return  # no audio: the caller says so, and there are no captions to write
            self._write(words, offset)
        except BaseException:
            if self.stream and self._written:
                self.path.unlink(missing_ok=True)  # no captions for audio that was not made
            chunks.close()
            raise

    def _write(self, words: list, duration: float) -> None:
        from ..files import write_atomically

        write_atomically(self.path, render(words, self.format, self.source, duration).encode("utf-8"))
        self._written = True


def render(words: list, format: str, source: str, duration: float) -> str:
    """Caption words as srt, vtt (the transcript writers' cues) or json."""
    if format == "json":
        data = {
            "text": source,
            "duration": round(duration, 3),
            "words": [
                {
                    "word": w.word,
                    "start": w.start,
                    "end": w.end,
                    "char_start": w.char_start,
                    "char_end": w.char_end,
                }
                for w in words
            ],
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    from ..audio.writers import format_transcript

    return format_transcript(transcript(words, source, duration), format)


def transcript(words: list, source: str, duration: float):
    """Caption words as a Transcript: a segment per line of the input, each word with the
    punctuation that follows it there (so cues are cut at sentence and clause ends)."""
    from ..models import Segment, Transcript, Word

    segments: list[Segment] = []
    previous_end = None
    for w in words:
        shown = Word(start=w.start, end=w.end, word=w.word + _punctuation_after(source, w.char_end))
        if not segments or "\n" in source[previous_end : w.char_start]:
            segments.append(Segment(start=w.start, end=w.end, text=""))
        segment = segments[-1]
        segment.words.append(shown)
        segment.end = w.end
        segment.text = f"{segment.text} {shown.word}".strip()
        previous_end = w.char_end
    text = " ".join(s.text for s in segments)
    return Transcript(text=text, duration=duration, segments=segments)


def _punctuation_after(source: str, end: int) -> str:
    i = end
    while i < len(source) and source[i] in _CLOSERS:
        i += 1
    j = i
    while j < len(source) and source[j] in _PUNCTUATION:
        j += 1
    return source[i:j]


def _shifted(word, offset: float):
    return dataclasses.replace(word, start=round(word.start + offset, 3), end=round(word.end + offset, 3))
