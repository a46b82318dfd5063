"""Putting speaker turns on a transcript: every segment (and word) gets who said it.

A word belongs to the turn it overlaps most (or the nearest one, for a word in a
pause); a change of speaker then moves to the nearest sentence end within 0.75 s
(the words say where one voice stopped better than the encoder's quarter-second
grid). A segment whose words change speaker is split there, so no segment has two
speakers. A segment without word times takes the turn it overlaps most. Labels are
``SPEAKER_1``, ``SPEAKER_2``... in order of first appearance in the transcript, or the
names given, in that order (more speakers than names: the rest keep their labels).
"""

from __future__ import annotations

from ..errors import AudioError
from ..models import Segment, Transcript


def parse_names(names: str | None, speakers: int | None) -> list[str]:
    """--speaker-names "Ana,Ben" as a list; one line if there are more names than speakers."""
    return check_names([name.strip() for name in (names or "").split(",") if name.strip()], speakers)


def check_names(listed: list[str], speakers: int | None) -> list[str]:
    """The names, or one line saying why they cannot be used (too many, or repeated)."""
    if speakers is not None and len(listed) > speakers:
        raise AudioError(f"{len(listed)} speaker names were given for {speakers} speakers")
    if len(set(listed)) < len(listed):
        raise AudioError("The speaker names must be different from one another")
    return listed


def label(transcript: Transcript, turns, keep_words: bool = True, vectors=None) -> Transcript:
    """The transcript with a speaker on every segment and word; turns: [Turn(start, end, speaker)].

    vectors ({turn speaker: mean voice vector}, from the diarizer) become
    ``transcript.speaker_vectors`` by label, for matching enrolled voices.
    """
    if not turns:
        for segment in transcript.segments:
            segment.speaker = None
        transcript.speakers = []
        return transcript
    words = [word for segment in transcript.segments for word in segment.words]
    speakers_of = _at_sentence_ends(words, [_speaker_of(w.start, w.end, turns) for w in words])
    by_word = {id(word): speaker for word, speaker in zip(words, speakers_of, strict=True)}
    segments: list[Segment] = []
    for segment in transcript.segments:
        if segment.words:
            segments += _split(segment, [by_word[id(word)] for word in segment.words])
        else:
            segment.speaker = _speaker_of(segment.start, segment.end, turns)
            segments.append(segment)
    order: dict[int, int] = {}
    for segment in segments:
        order.setdefault(segment.speaker, len(order))
    labels = {index: f"SPEAKER_{position + 1}" for index, position in order.items()}
    for segment in segments:
        segment.speaker = labels[segment.speaker]
        for word in segment.words:
            word.speaker = segment.speaker
        if not keep_words:
            segment.words = []
    transcript.segments = segments
    transcript.speakers = [labels[index] for index in order]
    if vectors is not None:
        transcript.speaker_vectors = {labels[i]: vectors[i] for i in order if i in vectors}
    return transcript


def _label(position: int, names) -> str:
    return names[position] if position < len(names) else f"SPEAKER_{position + 1}"


def _split(segment: Segment, speakers_of) -> list[Segment]:
    runs: list[list] = []
    for word, speaker in zip(segment.words, speakers_of, strict=True):
        if runs and runs[-1][0] == speaker:
            runs[-1][1].append(word)
        else:
            runs.append([speaker, [word]])
    if len(runs) == 1:
        segment.speaker = runs[0][0]
        return [segment]
    pieces = []
    for k, (speaker, words) in enumerate(runs):
        # Whisper can time a word at zero length; a segment of one such word still needs one
        following = runs[k + 1][1][0].start if k + 1 < len(runs) else segment.end
        end = max(words[-1].end, min(words[-1].start + MIN_SEGMENT_SECONDS, max(following, words[-1].end)))
        text = "".join(w.word for w in words).strip()
        pieces.append(Segment(start=words[0].start, end=end, text=text, words=words, speaker=speaker))
    return pieces


MIN_SEGMENT_SECONDS = 0.1
SNAP_SECONDS = 0.75  # how far a change of speaker may move to reach the end of a sentence


def _at_sentence_ends(words, speakers_of) -> list:
    """Speakers per word, each change moved to the nearest sentence end within SNAP_SECONDS.

    The encoder places a change to within about a quarter of a second; when the words
    say where a sentence ended, that is where one voice stopped and the next began.
    """
    speakers_of = list(speakers_of)
    for k in range(1, len(words)):
        if speakers_of[k] == speakers_of[k - 1]:
            continue
        change = words[k].start
        ends = [j for j in _near(words, k, change) if words[j].word.strip().endswith((".", "?", "!"))]
        if not ends:
            continue
        j = min(ends, key=lambda j: abs(words[j].end - change))
        before, after = speakers_of[k - 1], speakers_of[k]
        for i in range(min(j + 1, k), max(j + 1, k)):
            speakers_of[i] = before if i <= j else after
    return speakers_of


def _near(words, k, change):
    """Indices of the words (not the last) ending within SNAP_SECONDS of change, looking out from k."""
    found = []
    j = k - 1
    while j >= 0 and change - words[j].end <= SNAP_SECONDS:
        found.append(j)
        j -= 1
    j = k
    while j < len(words) - 1 and words[j].end - change <= SNAP_SECONDS:
        found.append(j)
        j += 1
    return found


def _speaker_of(start: float, end: float, turns) -> int:
    best, best_overlap = None, 0.0
    for turn in turns:
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > best_overlap:
            best, best_overlap = turn.speaker, overlap
    if best is not None:
        return best
    middle = (start + end) / 2
    return min(turns, key=lambda t: min(abs(middle - t.start), abs(middle - t.end))).speaker


def rename(transcript: Transcript, names) -> Transcript:
    """SPEAKER_1, SPEAKER_2... replaced by the given names, in order of first appearance.

    Speakers already named by their voice (``speaker_matches`` with a name) keep it: the
    names go to the others, in order.
    """
    matched = {label for label, match in transcript.speaker_matches.items() if match.get("name")}
    unnamed = [old for old in transcript.speakers if old not in matched]
    mapping = {old: old for old in matched} | {old: _label(i, names) for i, old in enumerate(unnamed)}
    return relabel(transcript, mapping)


def relabel(transcript: Transcript, mapping: dict) -> Transcript:
    """Every label old replaced by mapping[old] (segments, words, speakers, matches, vectors)."""
    for segment in transcript.segments:
        if segment.speaker is not None:
            segment.speaker = mapping.get(segment.speaker, segment.speaker)
        for word in segment.words:
            if word.speaker is not None:
                word.speaker = mapping.get(word.speaker, word.speaker)
    transcript.speakers = [mapping.get(old, old) for old in transcript.speakers]
    transcript.speaker_matches = {mapping.get(k, k): v for k, v in transcript.speaker_matches.items()}
    transcript.speaker_vectors = {mapping.get(k, k): v for k, v in transcript.speaker_vectors.items()}
    return transcript
