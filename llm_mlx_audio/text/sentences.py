"""Cutting text into sentences, whole or as it streams in.

Speech models do best on a sentence or a few at a time, and memory stays bounded
when a long text is spoken piece by piece. The same rules serve `llm speak` on a
whole text and `llm speak --stream` on text still arriving from a pipe: a sentence
is only released once the text after it shows that it really ended (so "Dr. Smith"
or "3.14" or "wait... what" are not cut).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

MAX_SENTENCE_CHARS = 300
#: A piece of speech (what the model says in one go) holds sentences up to at least this.
MIN_PIECE_CHARS = 60

_TERMINATORS = ".!?…。！？"
_CLOSERS = "\"'”’)]}»"
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "vs",
    "e.g",
    "i.e",
    "etc",
    "fig",
    "no",
    "inc",
    "ltd",
    "co",
    "mt",
    "approx",
    "dept",
    "est",
    "gen",
    "gov",
    "sen",
    "rep",
    "capt",
    "col",
    "lt",
    "sgt",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "a.m",
    "p.m",
    "u.s",
    "u.k",
    "cf",
    "al",
}
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•]|\d+[.)])[ \t]+")
_SOFT_BREAKS = ",;:—–"


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Every sentence of a complete text."""
    sentences, rest = _split(text, final=True, max_chars=max_chars)
    return sentences


def speech_pieces(sentences: Iterable[str], min_chars: int = MIN_PIECE_CHARS) -> Iterator[list[str]]:
    """Sentences in the groups a speech model says in one go, each yielded once complete.

    A group ends with the sentence that brings it to min_chars, so it depends only on the
    sentences, never on when they arrive: `llm speak --stream` cuts a text exactly as the
    whole text is cut, and the two say the same (same audio, same captions). A group made
    again from its own sentences is itself. Short lines ("Packing list.", "Item, Why.")
    are not said alone: Kokoro pauses ~0.5 s around every piece and reads a lone
    two-word line less clearly (benchmarks/bench_sentence_synthesis.py).
    """
    group: list[str] = []
    for sentence in sentences:
        group.append(sentence)
        if len(" ".join(group)) >= min_chars:
            yield group
            group = []
    if group:
        yield group


def join_piece(sentences: list[str]) -> str:
    """A group of sentences as text that splits back into exactly those sentences (a blank
    line always ends a sentence), for handing a streamed piece to a model or a server."""
    return "\n\n".join(sentences)


class SentenceStream:
    """Feed text as it arrives; get back the sentences that are known to be complete."""

    def __init__(self, max_chars: int = MAX_SENTENCE_CHARS):
        self.max_chars = max_chars
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        sentences, self._buffer = _split(self._buffer, final=False, max_chars=self.max_chars)
        return sentences

    def flush(self) -> list[str]:
        sentences, self._buffer = _split(self._buffer, final=True, max_chars=self.max_chars)
        return sentences


def stream_sentences(pieces: Iterable[str], max_chars: int = MAX_SENTENCE_CHARS) -> Iterator[str]:
    """Sentences from an iterator of text pieces, each yielded as soon as it is complete."""
    stream = SentenceStream(max_chars)
    for piece in pieces:
        yield from stream.feed(piece)
    yield from stream.flush()


def _split(text: str, final: bool, max_chars: int) -> tuple[list[str], str]:
    sentences: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        end = None
        ch = text[i]
        if ch == "\n":
            decision = _newline_boundary(text, start, i, final)
            if decision is None:
                break
            if decision:
                end = i + 1
        elif ch in _TERMINATORS:
            decision, after = _terminator_boundary(text, start, i, final)
            if decision is None:
                break
            if decision:
                end = after
            else:
                i = after - 1
        if end is not None:
            _add(sentences, text[start:end])
            start = end
            i = end
            continue
        if i - start >= max_chars:
            cut = _soft_cut(text, start, i)
            _add(sentences, text[start:cut])
            start = cut
            i = cut
            continue
        i += 1
    if final:
        _add(sentences, text[start:])
        return sentences, ""
    return sentences, text[start:]


def _add(sentences: list[str], piece: str) -> None:
    piece = " ".join(piece.split())
    if piece and any(c.isalnum() for c in piece):
        sentences.append(piece)
    elif piece and sentences:
        sentences[-1] += piece if piece[0] in _TERMINATORS + _CLOSERS else " " + piece


def _newline_boundary(text: str, start: int, i: int, final: bool):
    """A blank line, or a line that is (or is followed by) a list item, ends a sentence."""
    line_start = text.rfind("\n", start, i) + 1 if "\n" in text[start:i] else start
    if _LIST_ITEM.match(text, line_start) and text[line_start:i].strip():
        return True
    rest = text[i + 1 :]
    if not final and ("\n" not in rest and len(rest) < 8):
        return None  # not enough text yet to see what the next line is
    next_line = rest.split("\n", 1)[0]
    if not next_line.strip():
        return True
    return bool(_LIST_ITEM.match(next_line))


def _terminator_boundary(text: str, start: int, i: int, final: bool):
    """(is_boundary, index after the punctuation); is_boundary None = need more text."""
    n = len(text)
    j = i + 1
    while j < n and text[j] in _TERMINATORS:
        j += 1
    while j < n and text[j] in _CLOSERS:
        j += 1
    if j >= n:
        return (True, j) if final else (None, j)
    if not text[j].isspace():
        return False, j  # 3.14, U.S.A, "...and"
    k = j
    while k < n and text[k].isspace():
        k += 1
    if k >= n:
        if final or _clearly_ends(text, start, i, j):
            return True, j
        return None, j
    following = text[k]
    if following.islower():
        return False, j
    if _abbreviation_before(text, start, i, j):
        return False, j
    return True, j


def _abbreviation_before(text: str, start: int, i: int, j: int) -> bool:
    if text[i] != "." or j != i + 1:
        return False
    word = re.search(r"([\w.]+)$", text[start:i])
    if not word:
        return False
    token = word.group(1).lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _clearly_ends(text: str, start: int, i: int, j: int) -> bool:
    """Whether a sentence ends here without seeing what follows (streaming latency).

    A plain '.', '!' or '?' after an ordinary word, then a space, ends a sentence.
    An ellipsis, a closing quote ('"Stop!" she said') or an abbreviation waits.
    """
    run = text[i:j]
    if any(c in _CLOSERS for c in run) or "…" in run or run.count(".") > 1:
        return False
    return not _abbreviation_before(text, start, i, j)


def _soft_cut(text: str, start: int, i: int) -> int:
    """Where to cut a run-on sentence: the last comma-like break, else the last space."""
    window = text[start:i]
    for breaks in (_SOFT_BREAKS, " \t\n"):
        position = max(window.rfind(c) for c in breaks)
        if position > len(window) // 3:
            return start + position + 1
    return i
