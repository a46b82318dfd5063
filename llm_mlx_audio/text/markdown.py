"""Markdown as a person reads it aloud: the words, not the markup.

LLMs answer in Markdown, and a speech model reads what it is given: "hash three tips",
"asterisk", URLs letter by letter, code, emoji names. Here the text is parsed with a
real CommonMark parser (markdown-it-py, with tables and strike-through) and each block
becomes one spoken line:

- headings, paragraphs, list items and table rows become sentences (a line of their
  own, ending in a full stop if they have no closing punctuation, so the voice pauses);
  table cells are read in order, separated by commas; block quotes are read;
- emphasis, strike-through and inline-code markers vanish and their words are spoken;
  links speak their text, images their alt text (or nothing); HTML tags vanish;
- fenced and indented code blocks and horizontal rules are skipped, silently: a listener
  wants the prose, and reading code aloud helps nobody;
- emoji are dropped; bare URLs speak their host ("example dot com"), e-mail addresses
  "ann at example dot com" (``spoken.py``).

The result keeps a map from spoken text back to the Markdown source, piece by piece, for
captions and word highlighting.
"""

from __future__ import annotations

import dataclasses
import functools
from html.parser import HTMLParser

from .spoken import clean

# Closing punctuation that already makes a pause; a line without it gets a full stop.
_ENDINGS = ".!?…:;。！？"


@dataclasses.dataclass(frozen=True)
class Piece:
    """Spoken text [start, end) came from Markdown source [source_start, source_end)."""

    start: int
    end: int
    source_start: int
    source_end: int


@dataclasses.dataclass
class Spoken:
    """What to say: one block a line, and where each piece of it came from."""

    text: str
    pieces: list[Piece]


def speakable(markdown: str) -> Spoken:
    """The words a person would say reading this Markdown aloud."""
    return _Reader(markdown).read()


@functools.cache
def _parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def parse(markdown: str):
    """markdown-it's block tokens for markdown."""
    return _parser().parse(markdown)


class _Reader:
    def __init__(self, source: str):
        self.source = source
        self.line_starts = [0]
        for i, char in enumerate(source):
            if char == "\n":
                self.line_starts.append(i + 1)
        self.text = ""
        self.pieces: list[Piece] = []

    def read(self) -> Spoken:
        row: list[tuple[str, list[Piece]]] | None = None
        for token in parse(self.source):
            if token.type == "tr_open":
                row = []
            elif token.type == "tr_close":
                self._line_from_cells(row or [])
                row = None
            elif token.type == "inline":
                cursor = self._offset(token.map[0]) if token.map else 0
                words, pieces = self._inline(token, cursor)
                if row is not None:
                    row.append((words, pieces))
                else:
                    self._line(words, pieces)
            elif token.type == "html_block":
                start = self._offset(token.map[0]) if token.map else 0
                end = self._offset(token.map[1]) if token.map else len(self.source)
                words = clean(_html_text(token.content))
                self._line(words, [Piece(0, len(words), start, end)] if words else [])
            # fence, code_block, hr: nothing is said
        return Spoken(self.text.rstrip("\n"), self.pieces)

    def _offset(self, line: int) -> int:
        return self.line_starts[line] if line < len(self.line_starts) else len(self.source)

    def _inline(self, token, cursor: int) -> tuple[str, list[Piece]]:
        words = ""
        pieces: list[Piece] = []
        for child in token.children or []:
            if child.type in ("text", "code_inline") or child.type == "image":
                raw = child.content
                said = clean(raw)
            elif child.type in ("softbreak", "hardbreak"):
                raw, said = "", " "
            else:  # markers (strong, em, s, link open/close) and inline HTML vanish
                continue
            if not said:
                continue
            found = self.source.find(raw, cursor) if raw else -1
            if found >= 0:
                cursor = found + len(raw)
                pieces.append(Piece(len(words), len(words) + len(said), found, cursor))
            words += said
        return words, pieces

    def _line_from_cells(self, cells: list[tuple[str, list[Piece]]]) -> None:
        words, pieces = "", []
        for cell, cell_pieces in cells:
            cell = cell.strip()
            if not cell:
                continue
            if words:
                words += ", " if words[-1] not in _ENDINGS + "," else " "
            pieces += [
                dataclasses.replace(p, start=p.start + len(words), end=p.end + len(words))
                for p in cell_pieces
            ]
            words += cell
        self._line(words, pieces)

    def _line(self, words: str, pieces: list[Piece]) -> None:
        stripped = words.strip()
        if not stripped:
            return
        shift = len(self.text) - (len(words) - len(words.lstrip()))
        self.pieces += [dataclasses.replace(p, start=p.start + shift, end=p.end + shift) for p in pieces]
        self.text += stripped if stripped[-1] in _ENDINGS else stripped + "."
        self.text += "\n"


def _html_text(html: str) -> str:
    """The text between an HTML block's tags (comments and scripts say nothing)."""
    parts: list[str] = []

    class Text(HTMLParser):
        skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style"):
                self.skip += 1

        def handle_endtag(self, tag):
            if tag in ("script", "style") and self.skip:
                self.skip -= 1

        def handle_data(self, data):
            if not self.skip:
                parts.append(data)

    parser = Text()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parts).split())
