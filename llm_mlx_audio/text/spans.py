"""Where each spoken word is in the text the user wrote.

Captions and word highlighting need the user's words, not the speech model's: "**Bold**"
is spoken as "Bold" (at 2..6 of the input), "1,234" is spoken as four words but is one
word of the input, a URL is spoken as its host ("example dot com") and must highlight the
whole URL, emoji are not spoken at all. The Markdown reader (markdown.py) maps each piece
of spoken text to its source; inside a piece, ``clean`` (spoken.py) drops emoji and
rewrites URLs and e-mail addresses. Here ``clean`` is re-run on each piece keeping, for
every spoken character, the source characters it came from; a rewritten URL or address
is one unit, so the words spoken for it become one caption word with the URL's span.

The speech model's words (misaki's tokens for Kokoro, as they appear in the spoken text)
are found in the spoken text in order, then taken back to the source; words that come
from one unit or one source word ("1,234", "10:30am") merge into one.
"""

from __future__ import annotations

import dataclasses
import os
import re

from .spoken import _EMAIL, _PICTOGRAPHS, _SPACES, _URL, _URL_TAIL, _WORD_JOINER, speak_email, speak_url

# How far past the expected place a model's word may be found in the spoken text (a word
# the model's tokenizer rewrote is skipped rather than matched against later text).
_SEARCH_WINDOW = 80
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " "})


@dataclasses.dataclass
class SpokenMap:
    """Spoken text, and for each of its characters the source span [start, end) and unit
    it came from (None for what the reader added: full stops, commas between table cells)."""

    source: str
    text: str
    origins: list[tuple[int, int, int | None] | None]


def spoken_map(source: str, normalize: bool = True) -> SpokenMap:
    """The spoken text for source (what ``prepare`` gives) with its character map."""
    if not normalize:
        return SpokenMap(source, source, [(i, i + 1, None) for i in range(len(source))])
    from .markdown import speakable

    spoken = speakable(source)
    origins: list[tuple[int, int, int | None] | None] = [None] * len(spoken.text)
    units = iter(range(1, 1 << 62))
    for piece in spoken.pieces:
        raw = source[piece.source_start : piece.source_end]
        said = spoken.text[piece.start : piece.end]
        chars = clean_tracked(raw, units)
        joined = "".join(c for c, _, _, _ in chars)
        # The reader strips line ends: a piece may end in spaces that are not in the text.
        same = len(os.path.commonprefix([joined, said]))
        if same < min(len(said.rstrip()), len(joined.rstrip())):
            # A piece not read from its source verbatim (an HTML block): it is one unit.
            unit = next(units)
            chars, same = [(c, 0, len(raw), unit) for c in said], len(said)
        for offset, (_, start, end, unit) in enumerate(chars[:same]):
            if piece.start + offset < len(origins):
                origins[piece.start + offset] = (piece.source_start + start, piece.source_start + end, unit)
    return SpokenMap(source, spoken.text, origins)


def clean_tracked(raw: str, units=None) -> list[tuple[str, int, int, int | None]]:
    """``clean(raw)`` as (character, source start, source end, unit) for each character said.

    Follows clean's steps; a test keeps the two in step (their joined text is the same).
    """
    units = units if units is not None else iter(range(1, 1 << 62))
    chars = [(c, i, i + 1, None) for i, c in enumerate(raw)]
    chars = _sub(chars, _PICTOGRAPHS, lambda m: [], units)
    chars = _sub(chars, _EMAIL, lambda m: [(speak_email(m.group(0)), 0, len(m.group(0)))], units)
    chars = _sub(chars, _URL, _url_parts, units)
    chars = _sub(chars, _WORD_JOINER, lambda m: [(" ", 0, 1)], units, atomic=False)
    chars = _sub(chars, _SPACES, lambda m: [(" ", 0, len(m.group(0)))], units, atomic=False)
    return chars


def _url_parts(match: re.Match) -> list[tuple[str, int, int]]:
    url = match.group(0)
    kept = url.rstrip(_URL_TAIL)
    if not kept:
        return [(url, 0, len(url))]
    return [(speak_url(kept), 0, len(kept))] + [
        (c, len(kept) + i, len(kept) + i + 1) for i, c in enumerate(url[len(kept) :])
    ]


def _sub(chars, pattern, parts, units, atomic: bool = True):
    """pattern.sub over the characters' text, each replacement part taking the source span
    of the match characters it stands for (a new unit each when atomic)."""
    text = "".join(c for c, _, _, _ in chars)
    out, last = [], 0
    for match in pattern.finditer(text):
        out += chars[last : match.start()]
        taken = chars[match.start() : match.end()]
        for said, rel_start, rel_end in parts(match):
            covered = taken[rel_start:rel_end] or taken
            start, end = min(c[1] for c in covered), max(c[2] for c in covered)
            unit = next(units) if atomic else None
            out += [(c, start, end, unit) for c in said]
        last = match.end()
    return out + chars[last:]


class WordSpans:
    """Finds a speech model's words, in order, in spoken text and gives them their source
    spans. Feed the words of each audio chunk as they come; the place in the text carries
    over from chunk to chunk."""

    def __init__(self, mapped: SpokenMap):
        self.mapped = mapped
        self.folded = mapped.text.translate(_FOLD)
        self.cursor = 0

    def place(self, words: list) -> list:
        """words (objects with .word, .start, .end) as caption words: the source's text in
        .word, its span in .char_start/.char_end, merged where one source word was spoken as
        several; words not found in the text are left out."""
        placed = []
        for word in words:
            span = self._find(word.word)
            if span is None:
                continue
            source_span = self._source_span(*span)
            if source_span is None:
                continue
            start, end, unit = source_span
            if placed and self._same_word(placed[-1], start, end, unit):
                last, last_unit = placed[-1]
                start, end = min(start, last.char_start), max(end, last.char_end)
                merged = dataclasses.replace(
                    last, end=max(last.end, word.end), char_start=start, char_end=end, word=""
                )
                placed[-1] = (merged, unit or last_unit)
                continue
            placed.append((dataclasses.replace(word, char_start=start, char_end=end, word=""), unit))
        source = self.mapped.source
        return [dataclasses.replace(w, word=source[w.char_start : w.char_end]) for w, _ in placed]

    def _find(self, word: str) -> tuple[int, int] | None:
        needle = word.translate(_FOLD)
        if not needle:
            return None
        window = self.folded[self.cursor : self.cursor + len(needle) + _SEARCH_WINDOW]
        found = window.find(needle)
        if found < 0:
            return None
        start = self.cursor + found
        self.cursor = start + len(needle)
        return start, self.cursor

    def _source_span(self, start: int, end: int) -> tuple[int, int, int | None] | None:
        origins = [o for o in self.mapped.origins[start:end] if o is not None]
        if not origins:
            return None
        return min(o[0] for o in origins), max(o[1] for o in origins), origins[0][2]

    def _same_word(self, previous, start: int, end: int, unit) -> bool:
        """One source word spoken as several (a unit, or nothing but -/.,: between them)."""
        last, last_unit = previous
        if unit is not None and unit == last_unit:
            return True
        if start < last.char_end:
            return True
        gap = self.mapped.source[last.char_end : start]
        return len(gap) <= 1 and all(c in "-/.,:'’" for c in gap)


def caption_words(source: str, words: list, normalize: bool = True) -> list:
    """All of a text's spoken words at once (see WordSpans.place)."""
    return WordSpans(spoken_map(source, normalize)).place(words)
