"""Reading SRT and WebVTT back, and checking every cue against the subtitle rules it was given.

Shared by the unit tests (tests/audio/test_subtitles.py) and the long recordings
(tests/engine/test_subtitles_on_long_recordings.py): the rules are checked on the text a
player reads, not on the cutter's own structures.
"""

from __future__ import annotations

import dataclasses
import html
import re

TOLERANCE = 0.0015  # times are written in whole milliseconds


@dataclasses.dataclass
class ParsedCue:
    start: float
    end: float
    lines: list[str]  # as shown: tags removed, entities decoded, the SRT label kept
    raw: str  # the payload as written


def seconds(stamp: str) -> float:
    match = re.fullmatch(r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d)", stamp)
    assert match, stamp
    h, m, s, ms = map(int, match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


def parse_srt(text: str) -> list[ParsedCue]:
    cues = []
    for number, block in enumerate([b for b in text.strip().split("\n\n") if b], start=1):
        index, times, *lines = block.split("\n")
        assert int(index) == number, block
        start, end = times.split(" --> ")
        cues.append(
            ParsedCue(seconds(start), seconds(end), [_shown(line) for line in lines], "\n".join(lines))
        )
    return cues


def parse_vtt(text: str) -> list[ParsedCue]:
    assert text.startswith("WEBVTT\n"), text[:20]
    cues = []
    for block in [b for b in text.split("\n\n")[1:] if b.strip()]:
        times, *lines = block.strip("\n").split("\n")
        start, end = times.split(" --> ")
        cues.append(
            ParsedCue(seconds(start), seconds(end), [_shown(line) for line in lines], "\n".join(lines))
        )
    return cues


def _shown(line: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", line))


def words_of(cues: list[ParsedCue], label: re.Pattern | None = None) -> list[str]:
    """The cues' words in order, a speaker label in front of a cue left out."""
    words = []
    for cue in cues:
        text = " ".join(cue.lines)
        if label is not None:
            text = label.sub("", text, count=1)
        words.extend(text.split())
    return words


def rule_breaks(
    cues: list[ParsedCue],
    *,
    max_line_chars: int = 42,
    max_lines: int = 2,
    max_cue_seconds: float = 7.0,
    min_cue_seconds: float = 1.0,
    min_gap: float = 0.08,
    duration: float | None = None,
) -> list[str]:
    """Every way the cues break a rule, as sentences (empty: none broken).

    A line of a single word may be longer than a line (a word is never split); a cue
    shorter than the minimum is one with no free time left on either side to grow into.
    """
    broken = []
    for k, cue in enumerate(cues):
        where = f"cue {k + 1} ({cue.start:.3f}-{cue.end:.3f} {cue.lines!r})"
        for line in cue.lines:
            if len(line) > max_line_chars and len(line.split()) > 1:
                broken.append(f"{where}: a line of {len(line)} characters")
        if len(cue.lines) > max_lines:
            broken.append(f"{where}: {len(cue.lines)} lines")
        length = cue.end - cue.start
        if length <= 0:
            broken.append(f"{where}: no time on screen")
        if length > max_cue_seconds + TOLERANCE:
            broken.append(f"{where}: {length:.3f} s on screen")
        previous_end = cues[k - 1].end if k else None
        next_start = cues[k + 1].start if k + 1 < len(cues) else None
        if next_start is not None and next_start - cue.end < min_gap - TOLERANCE:
            broken.append(f"{where}: {next_start - cue.end:.3f} s before the next cue")
        if length < min_cue_seconds - TOLERANCE:
            room_after = (
                next_start - min_gap if next_start is not None else duration or float("inf")
            ) - cue.end
            room_before = cue.start - (previous_end + min_gap if previous_end is not None else 0.0)
            if room_after > TOLERANCE or room_before > TOLERANCE:
                broken.append(f"{where}: {length:.3f} s with free time around it")
    return broken
