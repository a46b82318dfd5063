"""The microphone as a stream of utterances: what `llm listen` and `llm audio chat` read.

Blocks from the capture queue go through the VAD (on the MLX thread) and the live
cutter; the audio an utterance may still need is kept, the rest dropped. Positions
are samples since capture began (the recording's clock), at 16 kHz.
"""

from __future__ import annotations

import click

RATE = 16000


class UtteranceStream:
    def __init__(self, microphone, detector, pause: float = 0.8, duration: float | None = None):
        import numpy as np

        from ..audio.utterances import UtteranceCutter

        self.microphone = microphone
        self.detector = detector
        self.cutter = UtteranceCutter(end_silence=pause)
        self._buffer = np.zeros(0, np.float32)
        self._start = 0  # sample index of _buffer[0]
        self.total = 0
        self._limit = int(duration * RATE) if duration else None
        self._ready: list[tuple[int, int]] = []
        self._warned = False

    @property
    def finished(self) -> bool:
        return self._limit is not None and self.total >= self._limit

    def samples(self, start: int, end: int):
        return self._buffer[max(start - self._start, 0) : end - self._start]

    def utterances(self, until_silence: float | None = None):
        """(start, end, samples) for each utterance as it ends; stops at --duration, after
        until_silence seconds of silence following speech, or when capture stops."""
        for block in self.microphone.blocks():
            self.feed(block)
            while self._ready:
                start, end = self._ready.pop(0)
                yield start, end, self.samples(start, end)
            if self.finished:
                break
            if until_silence and self.cutter.heard_speech and self.cutter.silence_seconds() >= until_silence:
                break
        yield from self.flush()

    def flush(self):
        """The utterance in progress (at Ctrl-C or the end), if any."""
        for start, end in self.cutter.flush():
            yield start, end, self.samples(start, end)

    def feed(self, block) -> None:
        import numpy as np

        if self._limit is not None:
            block = block[: max(self._limit - self.total, 0)]
        self._buffer = np.concatenate([self._buffer, block])
        self.total += len(block)
        self._ready += self.cutter.feed(self.detector.probabilities(block))
        keep = min([self.cutter.keep_from()] + [start for start, _ in self._ready])
        if keep > self._start:
            self._buffer, self._start = self._buffer[keep - self._start :], keep
        if self.microphone.dropped_blocks and not self._warned:
            self._warned = True
            click.echo(
                "Warning: audio is being dropped: transcription cannot keep up with the input "
                "(a smaller --model would)",
                err=True,
            )

    def speech_started(self) -> bool:
        """Feed what has been captured so far, without waiting; whether someone is speaking."""
        for block in self.microphone.available():
            self.feed(block)
        return self.cutter.in_speech or bool(self._ready)
