"""Transcripts as text, json, verbose_json, srt and vtt: the OpenAI transcription set.

Subtitle cues come from segments, one cue each, in time order and never
overlapping (mlx-audio's own writer repeats every word as an extra cue when word
timestamps are on; this one does not). A model that gives no real timings cannot
make subtitles, and says so instead of inventing times.

A diarized transcript (segments with a ``speaker``) carries the speakers everywhere:
text is a line per speaker turn (``SPEAKER_1: ...``), json and verbose_json have a
``speaker`` on every segment and word and a ``speakers`` list, srt puts the label in
front of each cue, vtt uses WebVTT voice spans (``<v SPEAKER_1>``), and diarized_json
is the shape of OpenAI's gpt-4o-transcribe-diarize.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import AudioError

if TYPE_CHECKING:  # writers read a Transcript's fields; they never make one
    from ..models import Transcript

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


def format_transcript(transcript: Transcript, format: str) -> str:
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
    }


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


def cues(transcript: Transcript) -> list[tuple[float, float, str, str | None]]:
    """(start, end, text, speaker) subtitle cues: ordered, non-overlapping, each text once."""
    if not transcript.has_timestamps:
        raise AudioError("This model gives no timestamps, so it cannot make subtitles; use text or json")
    result: list[tuple[float, float, str]] = []
    last_end = 0.0
    for segment in sorted(transcript.segments, key=lambda s: s.start):
        text = " ".join(segment.text.split())
        if not text:
            continue
        start = max(segment.start, last_end)
        end = max(segment.end, start + 0.001)
        if result and result[-1][2] == text and start - result[-1][1] < 0.01:
            continue  # a model repeating its last segment verbatim
        result.append((start, end, text, segment.speaker))
        last_end = end
    return result


def _timestamp(seconds: float, separator: str) -> str:
    milliseconds = int(round(seconds * 1000))
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    secs, milliseconds = divmod(milliseconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{milliseconds:03d}"


def to_srt(transcript: Transcript) -> str:
    blocks = [
        f"{i}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{speaker + ': ' if speaker else ''}{text}\n"
        for i, (start, end, text, speaker) in enumerate(cues(transcript), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"] + [
        f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{_voice(speaker)}{text}\n"
        for start, end, text, speaker in cues(transcript)
    ]
    return "\n".join(blocks)


def _voice(speaker: str | None) -> str:
    """A WebVTT voice span's opening tag (the annotation may not hold '>' or a newline)."""
    if not speaker:
        return ""
    return f"<v {' '.join(speaker.replace('>', ' ').split())}>"


_WRITERS: dict[str, Callable[[Transcript], str]] = {
    "text": _text,
    "diarized_json": lambda t: json.dumps(as_diarized_json(t), ensure_ascii=False, indent=2) + "\n",
    "json": lambda t: json.dumps(as_json(t), ensure_ascii=False) + "\n",
    "verbose_json": lambda t: json.dumps(as_verbose_json(t), ensure_ascii=False, indent=2) + "\n",
    "srt": to_srt,
    "vtt": to_vtt,
}
