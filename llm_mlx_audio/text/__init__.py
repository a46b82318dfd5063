"""Text before speech: Markdown read as a person reads it, cut into sentences.

``prepare`` serves whole texts, ``prepare_stream`` text that is still arriving;
both give the same words. ``sentences`` cuts the result for the speech model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def prepare(text: str) -> str:
    """The words to say for text written in Markdown (plain text passes through)."""
    from .markdown import speakable

    return speakable(text).text


def prepare_stream(pieces: Iterable[str]) -> Iterator[str]:
    """prepare() for text arriving in pieces: settled speakable text, as soon as it is settled."""
    from .incremental import MarkdownStream

    stream = MarkdownStream()
    for piece in pieces:
        ready = stream.feed(piece)
        if ready:
            yield ready
    ready = stream.close()
    if ready:
        yield ready
