"""Markdown that is still arriving, read aloud with the same result as the whole text.

`llm "..." | llm speak --stream` gets Markdown in arbitrary pieces: a ``**`` split
across two writes, a code fence opened in one chunk and closed ten chunks later. The
parser sees the whole text so far each time; what it says is released in two ways:

- every block before the last one is finished (a later block has begun), so it is
  read like the whole text would read it;
- the last block may still grow. Its complete sentences are released early (so the
  first sentence is spoken as soon as it is written) only when the source up to that
  sentence is plain enough that nothing later can change how it reads: no open code
  span, emphasis run, link or HTML tag, and not inside a code fence or table.

Code inside a fence is never released: an open fence runs to the end of the text
for the parser, so it is the last block, and a code block says nothing.
"""

from __future__ import annotations

import os
import re

from .markdown import parse, speakable

# A sentence end in the source: closing punctuation, maybe a closing bracket or quote,
# then whitespace.
_SENTENCE_END = re.compile(r"[.!?…](?:[\"')\]]*)(?=\s)")
_EARLY_BLOCKS = ("paragraph_open", "heading_open", "bullet_list_open", "ordered_list_open", "blockquote_open")


class MarkdownStream:
    """Feed Markdown as it arrives; get back speakable text, in order, as soon as it is settled.

    Everything ``feed`` and ``close`` return, joined, is ``speakable(whole_text).text``
    but for spaces at line ends: the same sentences, the same words.
    """

    def __init__(self):
        self._buffer = ""  # the source not yet released as whole blocks
        self._said = ""  # what was already released early from the buffer's first block

    def feed(self, text: str) -> str:
        self._buffer += text
        return self._release(final=False)

    def close(self) -> str:
        return self._release(final=True)

    def _release(self, final: bool) -> str:
        out = ""
        blocks = _top_level_blocks(self._buffer)
        settled = len(self._buffer) if final else (blocks[-1] if len(blocks) >= 2 else 0)
        if settled:
            whole = speakable(self._buffer[:settled]).text
            rest = _after(whole, self._said)
            out = rest + "\n" if whole else ""
            self._buffer = self._buffer[settled:]
            self._said = ""
        if not final and self._buffer:
            # Released with the space that follows it, so the sentence splitter downstream
            # knows the sentence has ended.
            early = _early_text(self._buffer)
            said = self._said.rstrip()
            if early and len(early) > len(said) and early.startswith(said):
                new = early[len(said) :]
                out += (new.lstrip(" ") if self._said else new) + " "
                self._said = early + " "
        return out


def _top_level_blocks(source: str) -> list[int]:
    """Source offsets where each top-level block starts."""
    starts = []
    line_starts = [0] + [i + 1 for i, c in enumerate(source) if c == "\n"]
    for token in parse(source):
        if token.level == 0 and token.map and token.nesting >= 0:
            starts.append(line_starts[token.map[0]] if token.map[0] < len(line_starts) else len(source))
    return starts


def _early_text(block: str) -> str | None:
    """What the still-growing first block's complete sentences say, when that is settled."""
    tokens = parse(block)
    if not tokens or tokens[0].type not in _EARLY_BLOCKS:
        return None
    for match in reversed(list(_SENTENCE_END.finditer(block))):
        if _plain(block[: match.end()]):
            return speakable(block[: match.end()]).text
    return None


def _plain(source: str) -> bool:
    """Nothing in source is waiting for a closing marker that may come later."""
    if source.count("`") % 2 or "<" in source.replace("<br>", ""):
        return False
    if "|" in source:  # a table may be starting: tables are released whole
        return False
    for marker in ("**", "__", "~~"):
        if source.count(marker) % 2:
            return False
    singles = source.replace("**", "").replace("__", "")
    if len(re.findall(r"(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])", singles)) % 2:
        return False
    if len(re.findall(r"(?<![\w_])_(?=\S)|(?<=\S)_(?![\w_])", singles)) % 2:
        return False
    return source.count("[") == source.count("]") and source.count("(") == source.count(")")


def _after(whole: str, said: str) -> str:
    """The part of whole not yet said (said: what was released early from its start,
    with the space that was released after it)."""
    if not said:
        return whole
    if whole.startswith(said):
        return whole[len(said) :]
    if whole.startswith(said.rstrip()):
        return whole[len(said.rstrip()) :].lstrip(" ")
    return whole[len(os.path.commonprefix([whole, said])) :]
