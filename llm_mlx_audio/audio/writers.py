"""Transcripts as text, json, verbose_json, srt and vtt: the OpenAI transcription set.

Subtitle cues follow the rules people subtitle by (subtitles.py: at most 42 characters
a line, 2 lines and 7 s a cue, cut at sentence and clause ends), in time order and never
overlapping; until issue 25 they were one cue per Whisper segment, whatever its length.
highlight_words writes karaoke cues: WebVTT timestamp tags, or SRT's convention of one
cue per word with that word underlined. A model that gives no real timings cannot make
subtitles, and says so instead of inventing times.

Writers read a transcript through the Protocols of transcript_fields.py, never
``models.Transcript`` itself: models calls these writers, so the arrow points one way.

A diarized transcript (segments with a ``speaker``) carries the speakers everywhere:
text is a line per speaker turn (``SPEAKER_1: ...``), json and verbose_json have a
``speaker`` on every segment and word and a ``speakers`` list, srt puts the label in
front of each cue, vtt uses WebVTT voice spans (``<v SPEAKER_1>``), and diarized_json
is the shape of OpenAI's gpt-4o-transcribe-diarize.
"""

from __future__ import annotations

import json

from ..errors import AudioError
from . import subtitles
from .transcript_fields import TranscriptFields as Transcript

FORMATS = ("text", "json", "verbose_json", "srt", "vtt", "diarized_json")
EXTENSIONS = {
    "text": "txt",
    "json": "json",
    "verbose_json": "json",
    "srt": "srt",
    "vtt": "vtt",
    "diarized_json": "json",
}
MIME_TYPES = {
    "text": "text/plain; charset=utf-8",
    "json": "application/json",
    "verbose_json": "application/json",
    "diarized_json": "application/json",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}


def format_transcript(
    transcript: Transcript,
    format: str,
    *,
    max_line_chars: int = subtitles.MAX_LINE_CHARS,
    max_lines: int = subtitles.MAX_LINES,
    max_cue_seconds: float = subtitles.MAX_CUE_SECONDS,
    highlight_words: bool = False,
) -> str:
    """The transcript written in format; the keywords shape srt and vtt cues (others ignore them)."""
    if format in ("srt", "vtt"):
        rules = subtitles.SubtitleRules(max_line_chars, max_lines, max_cue_seconds)
        writer = to_srt if format == "srt" else to_vtt
        return writer(transcript, rules, highlight_words=highlight_words)
    try:
        writer = _WRITERS[format]
    except KeyError:
        raise AudioError(f"Unknown transcript format '{format}'; use one of: {', '.join(FORMATS)}") from None
    return writer(transcript)


def as_json(transcript: Transcript) -> dict:
    """The CLI's json: text, language, duration and timed segments.

    (OpenAI's API answers json with {"text"} alone; the server uses that shape.)
    """
    data = as_verbose_json(transcript)
    data.pop("task")
    data.pop("words", None)
    return data


def as_verbose_json(transcript: Transcript) -> dict:
    """OpenAI's verbose_json shape: language, duration, segments, and words when present."""
    diarized = bool(transcript.speakers)
    words = [
        {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3)}
        | ({"speaker": w.speaker} if diarized else {})
        for s in transcript.segments
        for w in s.words
    ]
    data = {
        "task": getattr(transcript, "task", "transcribe"),
        "language": transcript.language,
        "duration": round(transcript.duration, 3) if transcript.duration is not None else None,
        "text": transcript.text,
        "segments": [
            {
                "id": i,
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": s.text.strip(),
            }
            | ({"speaker": s.speaker} if diarized else {})
            for i, s in enumerate(transcript.segments)
        ],
        "has_timestamps": transcript.has_timestamps,
    }
    if diarized:
        data["speakers"] = list(transcript.speakers)
    if getattr(transcript, "speaker_matches", None):
        data["speaker_matches"] = dict(transcript.speaker_matches)
    probability = getattr(transcript, "language_probability", None)
    if probability is not None:
        data["language_probability"] = round(probability, 3)
    if words:
        data["words"] = words
    return data


def as_diarized_json(transcript: Transcript) -> dict:
    """OpenAI's diarized_json: segments of one speaker each, with speaker, start, end and text."""
    if not transcript.speakers and transcript.segments:
        raise AudioError("diarized_json needs a diarized transcript: add --diarize")
    return {
        "task": getattr(transcript, "task", "transcribe"),
        "duration": round(transcript.duration, 3) if transcript.duration is not None else None,
        "text": transcript.text,
        "segments": [
            {
                "type": "transcript.text.segment",
                "id": f"seg_{i:03d}",
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": s.text.strip(),
                "speaker": s.speaker,
            }
            for i, s in enumerate(transcript.segments)
            if s.text.strip()
        ],
    } | ({"speaker_matches": dict(transcript.speaker_matches)} if transcript.speaker_matches else {})


def speaker_turns_text(transcript: Transcript) -> str:
    """A line per speaker turn: consecutive segments of one speaker are joined."""
    lines: list[list[str]] = []
    for segment in transcript.segments:
        text = " ".join(segment.text.split())
        if not text:
            continue
        if lines and lines[-1][0] == segment.speaker:
            lines[-1][1] += " " + text
        else:
            lines.append([segment.speaker, text])
    return "".join(f"{speaker}: {text}\n" for speaker, text in lines)


def _text(transcript: Transcript) -> str:
    if transcript.speakers:
        return speaker_turns_text(transcript)
    return transcript.text + "\n" if transcript.text else ""  # no speech: nothing at all


def cues(transcript: Transcript, rules: subtitles.SubtitleRules | None = None) -> list[subtitles.Cue]:
    """The transcript's subtitle cues under rules (default: 42 characters, 2 lines, 7 s)."""
    return subtitles.make_cues(transcript, rules)


def _timestamp(seconds: float, separator: str) -> str:
    milliseconds = int(round(seconds * 1000))
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    secs, milliseconds = divmod(milliseconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{milliseconds:03d}"


def to_srt(
    transcript: Transcript, rules: subtitles.SubtitleRules | None = None, *, highlight_words: bool = False
) -> str:
    """SubRip: numbered cues, the speaker's label in front; karaoke is a cue per word, underlined."""
    made = subtitles.make_cues(transcript, rules, prefix_chars=lambda s: len(_label(s)))
    blocks = []
    for cue in made:
        label = _label(cue.speaker)
        if not highlight_words:
            blocks.append((cue.start, cue.end, label + "\n".join(cue.line_texts())))
            continue
        starts = subtitles.karaoke_starts(cue)
        for k, (start, end) in enumerate(zip(starts, starts[1:] + [cue.end], strict=True)):
            lit = cue.words[k]
            lines = cue.line_texts(lambda w, lit=lit: f"<u>{w.text}</u>" if w is lit else w.text)
            blocks.append((start, end, label + "\n".join(lines)))
    return "\n".join(
        f"{i}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{text}\n"
        for i, (start, end, text) in enumerate(blocks, start=1)
    )


def to_vtt(
    transcript: Transcript, rules: subtitles.SubtitleRules | None = None, *, highlight_words: bool = False
) -> str:
    """WebVTT: voice spans for speakers; karaoke marks each word's start with a timestamp tag."""
    blocks = ["WEBVTT\n"]
    for cue in subtitles.make_cues(transcript, rules):
        lines = cue.line_texts(_karaoke_tags(cue) if highlight_words else lambda w: _escape(w.text))
        text = "\n".join(lines)
        blocks.append(
            f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n{_voice(cue.speaker)}{text}\n"
        )
    return "\n".join(blocks)


def _karaoke_tags(cue: subtitles.Cue):
    """A word writer for WebVTT karaoke: <c>first</c>, then <00:00:01.200><c>word</c>."""
    starts = dict(zip(map(id, cue.words), subtitles.karaoke_starts(cue), strict=True))
    first = cue.words[0]

    def show(word):
        if word is first:
            return f"<c>{_escape(word.text)}</c>"
        return f"<{_timestamp(starts[id(word)], '.')}><c>{_escape(word.text)}</c>"

    return show


def _escape(text: str) -> str:
    """WebVTT cue text may not hold a bare '<' or '&' (they open tags and entities)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _label(speaker: str | None) -> str:
    return f"{speaker}: " if speaker else ""


def _voice(speaker: str | None) -> str:
    """A WebVTT voice span's opening tag (the annotation may not hold '>' or a newline)."""
    if not speaker:
        return ""
    return f"<v {' '.join(speaker.replace('>', ' ').split())}>"


_WRITERS = {
    "text": _text,
    "diarized_json": lambda t: json.dumps(as_diarized_json(t), ensure_ascii=False, indent=2) + "\n",
    "json": lambda t: json.dumps(as_json(t), ensure_ascii=False) + "\n",
    "verbose_json": lambda t: json.dumps(as_verbose_json(t), ensure_ascii=False, indent=2) + "\n",
}
