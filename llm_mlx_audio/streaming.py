"""Speech from text that is still arriving: the first sentence is spoken while the
rest is being written.

`llm "tell a story" | llm speak --stream --play` reads the pipe as bytes come in,
releases each sentence once it is known to be complete, and as soon as the sentences
make a piece (one sentence, or short ones together: text/sentences.py's speech_pieces)
synthesizes it on the MLX thread and hands its audio on at once. Text that arrives
during synthesis waits in the pipe's buffer, so reading and speaking overlap without another thread.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from .models import Audio, SpeechModel
from .text import prepare_stream
from .text.sentences import join_piece, speech_pieces, stream_sentences


def stream_speech(
    model: SpeechModel,
    pieces: Iterable[str],
    voice: str | None = None,
    speed: float = 1.0,
    language: str | None = None,
    normalize: bool = True,
    speak: Callable[[str], Iterable[Audio]] | None = None,
) -> Iterator[Audio]:
    """Audio chunks, in order, for an iterator of text pieces (tokens, lines, anything).

    With normalize the pieces are read as Markdown that is still arriving: the same
    words as the whole text would give, each sentence released as soon as it is settled.
    They are said in the groups the whole text is said in (speech_pieces), so the audio
    is the whole text's. ``speak`` turns one group into audio (default: the model, here);
    `llm speak --stream` passes one that asks the warm server first. Chunks of models
    that time their words carry them as the whole text's would: each word as the input
    wrote it, its span in all the pieces joined (see models.Word).
    """
    read: list[str] = []

    def reading(pieces):
        for piece in pieces:
            read.append(piece)
            yield piece

    sentences = reading(pieces)
    if normalize:
        sentences = prepare_stream(sentences)
    if speak is None:

        def speak(sentence):
            return model.iter_speech(sentence, voice=voice, speed=speed, language=language, normalize=False)

    cursor = 0  # where the next word is looked for in the text said so far
    for group in speech_pieces(stream_sentences(sentences)):
        for chunk in speak(join_piece(group)):
            if chunk.words is not None:
                from .text.spans import WordSpans, spoken_map

                spans = WordSpans(spoken_map("".join(read), normalize))
                spans.cursor = cursor
                chunk.words = spans.place(chunk.words)
                cursor = spans.cursor
            yield chunk


def read_incrementally(stream: IO[bytes], block: int = 4096) -> Iterator[str]:
    """Text from a binary stream as soon as any arrives (not line by line).

    An LLM writes a paragraph as one long line; waiting for newlines would hold
    back the first sentence.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    fd = stream.fileno()
    while True:
        data = os.read(fd, block)
        if not data:
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail
            return
        text = decoder.decode(data)
        if text:
            yield text
