"""Corrections applied after decoding: "kube cuddle=kubectl" in the text, the segments and the words.

Rules (each has its own test in tests/vocabulary/test_corrections.py):

- whole words only: "cuddle=hug" changes "cuddle" and "cuddle," but not "cuddles" or
  "recuddle" (a hyphen or an apostrophe ends a word); a heard phrase may span words,
  matched across any spaces or hyphens ("kube cuddle" matches "Kube-cuddle" and "kube  cuddle");
- case: the heard phrase matches in any case; the meant form is written as given, except
  that a meant form written all in lowercase gets a capital first letter where the
  transcript had one at the start of a sentence (its start, or after . ! ?): "Kube
  cuddle is..." becomes "Kubectl is...", "use kube cuddle" becomes "use kubectl";
- punctuation next to a word stays: "kube cuddle," becomes "kubectl,";
- several corrections apply in one pass, longest heard phrase first, so a replacement
  is never corrected again;
- words: a heard phrase spread over several Word objects becomes one Word spanning
  their times (start of the first, end of the last, the lowest probability), so the
  words still join to the segment's text.
"""

from __future__ import annotations

import dataclasses
import re

from ..models import Segment, Transcript, Word
from .entries import Correction, key

_SENTENCE_START = re.compile(r"(?:^|[.!?…]['\")\]]*)\s*$")


class Corrector:
    """The corrections compiled into one pattern (one pass, longest heard phrase first)."""

    def __init__(self, corrections: list[Correction]):
        self.meant = {key(c.heard): c.meant for c in corrections}
        phrases = sorted(self.meant, key=len, reverse=True)
        alternatives = [r"[\s\-]+".join(re.escape(word) for word in phrase.split()) for phrase in phrases]
        self.pattern = (
            re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)
            if alternatives
            else None
        )

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, replacement) of every heard phrase in text."""
        if self.pattern is None:
            return []
        found = []
        for match in self.pattern.finditer(text):
            meant = self.meant[key(match.group())]
            if (
                meant == meant.lower()
                and match.group()[:1].isupper()
                and _SENTENCE_START.search(text[: match.start()])
            ):
                meant = meant[:1].upper() + meant[1:]
            found.append((match.start(), match.end(), meant))
        return found

    def text(self, text: str) -> str:
        out, at = [], 0
        for start, end, meant in self.spans(text):
            out += [text[at:start], meant]
            at = end
        return "".join(out) + text[at:]

    def words(self, words: list[Word]) -> list[Word]:
        """The words with every heard phrase replaced; a phrase over several words merged into one."""
        joined = "".join(w.word for w in words)
        spans = self.spans(joined)
        if not spans:
            return words
        bounds, at = [], 0
        for word in words:
            bounds.append((at, at + len(word.word)))
            at += len(word.word)
        out, index, next_span = [], 0, 0
        while index < len(words):
            if next_span >= len(spans) or spans[next_span][0] >= bounds[index][1]:
                out.append(words[index])
                index += 1
                continue
            # This word holds a heard phrase's start: take every word the phrase reaches,
            # and every further phrase that starts inside those words.
            first, last, taken = index, index, [spans[next_span]]
            next_span += 1
            while True:
                while last + 1 < len(words) and bounds[last + 1][0] < taken[-1][1]:
                    last += 1
                if next_span < len(spans) and spans[next_span][0] < bounds[last][1]:
                    taken.append(spans[next_span])
                    next_span += 1
                    continue
                break
            out.append(_merged(words[first : last + 1], joined, bounds[first][0], bounds[last][1], taken))
            index = last + 1
        return out


def _merged(group: list[Word], joined: str, begin: int, finish: int, spans) -> Word:
    """One word for group: its text from begin to finish with spans replaced, its times spanning all."""
    pieces, at = [], begin
    for start, end, meant in spans:
        pieces += [joined[at:start], meant]
        at = end
    pieces.append(joined[at:finish])
    probabilities = [w.probability for w in group if w.probability is not None]
    return dataclasses.replace(
        group[0],
        word="".join(pieces),
        end=group[-1].end,
        probability=min(probabilities) if probabilities else None,
    )


def correct(transcript: Transcript, corrections: list[Correction]) -> Transcript:
    """The transcript with the corrections applied to its text, segments and words (in place, returned)."""
    if not corrections:
        return transcript
    corrector = Corrector(corrections)
    transcript.text = corrector.text(transcript.text)
    for segment in transcript.segments:
        _correct_segment(segment, corrector)
    return transcript


def correct_segments(segments: list[Segment], corrections: list[Correction]) -> list[Segment]:
    """The segments with the corrections applied (in place, returned)."""
    corrector = Corrector(corrections)
    for segment in segments:
        _correct_segment(segment, corrector)
    return segments


def _correct_segment(segment: Segment, corrector: Corrector) -> None:
    segment.text = corrector.text(segment.text)
    if segment.words:
        segment.words = corrector.words(segment.words)
