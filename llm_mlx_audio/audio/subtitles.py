"""Subtitle cues people can read, cut from a transcript's timed words.

Whisper's segments are not subtitles: they run to 30 s and 200 characters, or stop in
the middle of a clause. Subtitlers work to a few rules (the BBC's and Netflix's
guidelines; whisperX #175, #916, whisper.cpp #884 ask for them): at most ~42 characters a
line and 2 lines a cue, cues of 1 to 7 s with a short gap between them (2 frames, 80 ms),
cut at the end of a sentence, else of a clause, else at the widest pause, never inside a
word, lines of a cue about as long as each other, and one speaker a cue.

The cut is a choice among word boundaries, made by dynamic programming: each cue costs
one, plus the kind of boundary it ends on (sentence 0, clause 1, plain 3, less up to 2 for
the pause there, more after "the", "of", "and"...), plus penalties for a pause inside it,
for starting a sentence it leaves to the next cue, for opening on the last few words of
the sentence before, for lines that cannot break where its sentence ends, and for being
shorter than the minimum. Lines inside a cue are as few as fit, balanced, and break at a
sentence or clause end over a dozen characters of balance. The line, length and time
rules are hard limits (a single word longer than a line or a cue is the one exception:
it gets a cue of its own and is never split). Times come from the words; a segment
without (usable) words has its text spread over the segment's time by each word's share
of the characters. Cue times then never overlap, keep the gap, and a short cue grows
into the free time after (then before) it up to the minimum.

On a 123-s recording (whisper-tiny.en, 294 words) the default rules give 31 cues, none
breaking a rule, in 53 ms (a busy 2-core machine; about 0.2 ms a word).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence

from ..errors import AudioError
from .transcript_fields import SegmentFields, TranscriptFields

MAX_LINE_CHARS = 42
MAX_LINES = 2
MAX_CUE_SECONDS = 7.0
MIN_CUE_SECONDS = 1.0
MIN_GAP_SECONDS = 0.08  # two frames at 25 fps
#: The ranges the options accept (the CLI and the server say so in one line).
LINE_CHARS_RANGE = (10, 200)
LINES_RANGE = (1, 4)
CUE_SECONDS_RANGE = (1.0, 60.0)

_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’»)\]]*$")
_CLAUSE_END = re.compile(r"([,;:、，；：]|[—–]|--)[\"'”’»)\]]*$")
_DASH = re.compile(r"^([—–-]|--)$")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "e.g.", "i.e.", "etc.", "prof.", "no."}
#: Words a line or cue should not end on: the phrase they open is on the other side.
_OPENERS = {
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "from", "by", "with", "and", "or",
    "but", "that", "my", "your", "his", "her", "its", "our", "their", "this", "these", "if",
}  # fmt: skip

SENTENCE, CLAUSE, PLAIN = 0, 1, 2
_BOUNDARY_COST = {SENTENCE: 0.0, CLAUSE: 1.0, PLAIN: 3.0}


@dataclasses.dataclass(frozen=True)
class SubtitleRules:
    """The limits every cue keeps (see the module docstring)."""

    max_line_chars: int = MAX_LINE_CHARS
    max_lines: int = MAX_LINES
    max_cue_seconds: float = MAX_CUE_SECONDS
    min_cue_seconds: float = MIN_CUE_SECONDS
    min_gap_seconds: float = MIN_GAP_SECONDS

    def __post_init__(self):
        check_rules(self.max_line_chars, self.max_lines, self.max_cue_seconds)
        if not 0 <= self.min_gap_seconds <= 1 or self.min_cue_seconds < 0:
            raise AudioError("The minimum cue gap must be 0 to 1 s and the minimum cue length at least 0")
        # A cue can never be made longer than the most it may last.
        object.__setattr__(self, "min_cue_seconds", min(self.min_cue_seconds, self.max_cue_seconds))


def check_rules(max_line_chars, max_lines, max_cue_seconds, prefix: str = "") -> None:
    """Refuse, in one line naming the option (prefix "--": as the CLI spells it), a limit out of range."""

    def name(option):
        return prefix + option.replace("_", "-") if prefix else option

    low, high = LINE_CHARS_RANGE
    if not _whole(max_line_chars) or not low <= max_line_chars <= high:
        raise AudioError(
            f"{name('max_line_chars')} must be a whole number from {low} to {high}, not {max_line_chars!r}"
        )
    low, high = LINES_RANGE
    if not _whole(max_lines) or not low <= max_lines <= high:
        raise AudioError(
            f"{name('max_lines')} must be a whole number from {low} to {high}, not {max_lines!r}"
        )
    low, high = CUE_SECONDS_RANGE
    seconds = max_cue_seconds
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not low <= seconds <= high:
        raise AudioError(
            f"{name('max_cue_seconds')} must be a number of seconds from {low:g} to {high:g}, not {seconds!r}"
        )


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclasses.dataclass
class TimedWord:
    """A word of the transcript's text (no spaces in it) and when it was said."""

    text: str
    start: float
    end: float
    speaker: str | None = None


@dataclasses.dataclass
class Cue:
    """A subtitle: its time, its lines (each a list of words) and its speaker."""

    start: float
    end: float
    lines: list[list[TimedWord]]
    speaker: str | None = None

    @property
    def words(self) -> list[TimedWord]:
        return [word for line in self.lines for word in line]

    @property
    def text(self) -> str:
        """The cue's words on one line."""
        return " ".join(word.text for word in self.words)

    def line_texts(self, show: Callable[[TimedWord], str] | None = None) -> list[str]:
        """Each line as text; show(word) writes a word (for karaoke markup), else its text."""
        return [" ".join(show(w) if show else w.text for w in line) for line in self.lines]


def timed_words(transcript: TranscriptFields) -> list[TimedWord]:
    """Every word of the transcript's segments, in order, timed, with times that never go back."""
    words: list[TimedWord] = []
    for segment in transcript.segments:
        tokens = segment.text.split()
        if not tokens:
            continue
        timed = _from_words(segment, tokens) or _spread(tokens, segment.start, segment.end, segment.speaker)
        words.extend(timed)
    last = 0.0
    for word in words:
        word.start = max(round(word.start, 3), last)
        word.end = max(round(word.end, 3), word.start)
        last = word.start
    return words


def _from_words(segment: SegmentFields, tokens: list[str]) -> list[TimedWord] | None:
    """The segment's text timed by its words, when there is one word for each of its
    tokens (spelt alike, or not: the text is what is shown, the words only give times)."""
    timed: list[TimedWord] = []
    for word in segment.words or ():
        parts = word.word.split()
        speaker = getattr(word, "speaker", None) or segment.speaker
        timed.extend(_spread(parts, word.start, word.end, speaker))
    if len(timed) != len(tokens):
        return None
    for word, token in zip(timed, tokens, strict=True):
        word.text = token
    return timed


def _spread(tokens: list[str], start: float, end: float, speaker: str | None) -> list[TimedWord]:
    """tokens over start..end, each given time by its share of the characters."""
    total = sum(len(t) for t in tokens) or 1
    end = max(end, start)
    timed, at = [], start
    for token in tokens:
        step = (end - start) * len(token) / total
        timed.append(TimedWord(token, at, at + step, speaker))
        at += step
    return timed


def boundary_kind(word: str) -> int:
    """SENTENCE, CLAUSE or PLAIN: what ends after this word."""
    if _SENTENCE_END.search(word) and word.lower() not in _ABBREVIATIONS:
        return SENTENCE
    if _CLAUSE_END.search(word):
        return CLAUSE
    return PLAIN


def make_cues(
    transcript: TranscriptFields,
    rules: SubtitleRules | None = None,
    prefix_chars: Callable[[str | None], int] = lambda speaker: 0,
) -> list[Cue]:
    """The transcript's cues under rules: ordered, never overlapping, each word once.

    prefix_chars(speaker) is how much of a cue's first line a label in front of it takes
    (SRT writes "SPEAKER_1: " there). A model without real timings cannot be subtitled.
    """
    if not transcript.has_timestamps:
        raise AudioError("This model gives no timestamps, so it cannot make subtitles; use text or json")
    rules = rules or SubtitleRules()
    words = timed_words(transcript)
    cues: list[Cue] = []
    for run in _speaker_runs(words):
        cues.extend(_cut(run, rules, prefix_chars(run[0].speaker)))
    _fix_times(cues, rules, transcript.duration)
    return cues


def _speaker_runs(words: list[TimedWord]) -> list[list[TimedWord]]:
    runs: list[list[TimedWord]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs


def _cut(words: list[TimedWord], rules: SubtitleRules, prefix: int) -> list[Cue]:
    """One speaker's words as cues: the cheapest cut that keeps every rule (see module doc)."""
    n = len(words)
    kinds = [boundary_kind(w.text) for w in words]
    best = [0.0] + [math.inf] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            if j - i > 1 and not _fits(words[i:j], rules, prefix):
                break  # more words only make it longer
            cost = best[i] + _cue_cost(words, kinds, i, j, rules, prefix)
            if cost < best[j]:
                best[j], back[j] = cost, i
    cuts, j = [], n
    while j > 0:
        cuts.append((back[j], j))
        j = back[j]
    cues = []
    for i, j in reversed(cuts):
        cue_words = words[i:j]
        lines = _lines(cue_words, kinds[i:j], rules.max_line_chars, rules.max_lines, prefix)
        cues.append(Cue(cue_words[0].start, cue_words[-1].end, lines, cue_words[0].speaker))
    return cues


def _fits(words: list[TimedWord], rules: SubtitleRules, prefix: int) -> bool:
    """Whether several words make one cue: in time, in the lines, none too long for a line."""
    if words[-1].end - words[0].start > rules.max_cue_seconds:
        return False
    if any(len(word.text) > rules.max_line_chars for word in words):
        return False  # a word longer than a line is a cue of its own
    return _line_count(words, rules.max_line_chars, prefix) <= rules.max_lines


def _line_count(words: list[TimedWord], width: int, prefix: int) -> int:
    """The fewest lines the words fill (filling each line in turn is optimal for that)."""
    lines, length, room = 1, 0, max(width - prefix, 1)
    for word in words:
        wanted = length + 1 + len(word.text) if length else len(word.text)
        if length and wanted > room:
            lines, length, room = lines + 1, len(word.text), width
        else:
            length = wanted
    return lines


def _cue_cost(words, kinds, i, j, rules: SubtitleRules, prefix: int) -> float:
    cost = 1.0
    if j < len(words):
        cost += _boundary_cost(words, kinds, j - 1)
    inner = range(i, j - 1)
    ends = [k for k in inner if kinds[k] == SENTENCE]
    if ends and kinds[j - 1] != SENTENCE:
        cost += 2.0  # starts a sentence it leaves for the next cue to finish
    if ends and i > 0 and kinds[i - 1] != SENTENCE:
        tail = sum(len(w.text) + 1 for w in words[i : ends[0] + 1])
        if tail < rules.max_line_chars / 2:
            cost += 1.5  # opens on the last few words of a sentence the cue before began
    if ends and not all(_fits_lines_after(words, i, k, j, rules, prefix) for k in ends[:1]):
        cost += 1.5  # its lines cannot break where its first sentence ends
    for k in inner:
        pause = words[k + 1].start - words[k].end
        cost += 3.0 * max(0.0, pause - 0.8)  # on screen through a pause
    shown = words[j - 1].end - words[i].start
    cost += max(0.0, rules.min_cue_seconds - shown)
    return cost


def _fits_lines_after(words, i, k, j, rules: SubtitleRules, prefix: int) -> bool:
    """Whether the cue words[i:j] can break its lines after word k (a cue on one line need not)."""
    if _line_count(words[i:j], rules.max_line_chars, prefix) == 1:
        return True
    first = _line_count(words[i : k + 1], rules.max_line_chars, prefix)
    return first + _line_count(words[k + 1 : j], rules.max_line_chars, 0) <= rules.max_lines


def _boundary_cost(words, kinds, k) -> float:
    """The cost of a cut after word k."""
    cost = _BOUNDARY_COST[kinds[k]]
    if kinds[k] == PLAIN and words[k].text.lower() in _OPENERS:
        cost += 1.0
    if k + 1 < len(words) and _DASH.match(words[k + 1].text):
        cost += 1.0  # the dash belongs at the end of this line
    pause = words[k + 1].start - words[k].end if k + 1 < len(words) else 0.0
    return max(0.0, cost - 2.0 * min(max(pause, 0.0), 1.0))


def _lines(words, kinds, width: int, max_lines: int, prefix: int) -> list[list[TimedWord]]:
    """The cue's words in as few lines as fit, as even in length as the cut points allow."""
    count = _line_count(words, width, prefix)
    if count == 1 or len(words) == 1:
        return [list(words)]
    count = min(count, max_lines, len(words))
    total = sum(len(w.text) for w in words) + len(words) - 1 + prefix
    target = total / count
    n = len(words)
    # best[m][p]: cost of the first p words in m lines
    best = [[math.inf] * (n + 1) for _ in range(count + 1)]
    back = [[0] * (n + 1) for _ in range(count + 1)]
    best[0][0] = 0.0
    for m in range(1, count + 1):
        room = width - prefix if m == 1 else width
        for p in range(1, n + 1):
            length = -1
            for q in range(p - 1, -1, -1):
                length += len(words[q].text) + 1
                if length > room and p - q > 1:
                    break
                if best[m - 1][q] == math.inf:
                    continue
                cost = abs(length + (prefix if m == 1 else 0) - target)
                if p < n:  # a break at a sentence end outweighs a dozen characters of balance
                    opener = words[p - 1].text.lower() in _OPENERS
                    cost += 8.0 * _BOUNDARY_COST[kinds[p - 1]] + (4.0 if opener else 0.0)
                if best[m - 1][q] + cost < best[m][p]:
                    best[m][p], back[m][p] = best[m - 1][q] + cost, q
    if best[count][n] == math.inf:  # cannot happen for a cue that fits; keep every word anyway
        return [list(words)]
    lines, p = [], n
    for m in range(count, 0, -1):
        q = back[m][p]
        lines.append(list(words[q:p]))
        p = q
    return lines[::-1]


def _fix_times(cues: list[Cue], rules: SubtitleRules, duration: float | None) -> None:
    """Times that keep the rules: no overlap, the gap, at most the longest, at least the shortest."""
    gap = rules.min_gap_seconds
    for cue in cues:
        cue.end = min(max(cue.end, cue.start), cue.start + rules.max_cue_seconds)
    for previous, cue in zip(cues, cues[1:], strict=False):
        if previous.end + gap > cue.start:  # words overlapping: shorten the earlier cue first
            previous.end = max(cue.start - gap, previous.start + min(0.3, previous.end - previous.start))
            cue.start = max(cue.start, round(previous.end + gap, 3))
            cue.end = max(cue.end, cue.start)
    end_of_audio = duration if duration is not None else math.inf
    for k, cue in enumerate(cues):
        short = rules.min_cue_seconds - (cue.end - cue.start)
        if short <= 0:
            continue
        latest = cues[k + 1].start - gap if k + 1 < len(cues) else max(end_of_audio, cue.end)
        cue.end = max(cue.end, min(cue.start + rules.min_cue_seconds, latest))
        earliest = cues[k - 1].end + gap if k else 0.0
        cue.start = min(cue.start, max(earliest, cue.end - rules.min_cue_seconds))
    for cue in cues:
        cue.start, cue.end = round(cue.start, 3), round(cue.end, 3)
        for word in cue.words:  # karaoke times stay inside their cue
            word.start = min(max(word.start, cue.start), cue.end)
            word.end = min(max(word.end, word.start), cue.end)


def karaoke_starts(cue: Cue, step: float = 0.01) -> list[float]:
    """When each word of the cue lights up: the cue's start, then each word's start, strictly
    increasing by at least step and before the cue's end (words stamped alike are spread)."""
    words = cue.words
    starts = [cue.start] + [w.start for w in words[1:]]
    for k in range(1, len(starts)):
        starts[k] = max(starts[k], starts[k - 1] + step)
    limit = cue.end
    for k in range(len(starts) - 1, 0, -1):
        starts[k] = min(starts[k], limit - step)
        limit = starts[k]
    return [round(s, 3) for s in starts]


def cue_times(cues: Sequence[Cue]) -> list[tuple[float, float]]:
    """(start, end) of each cue, for checks and tests."""
    return [(c.start, c.end) for c in cues]
