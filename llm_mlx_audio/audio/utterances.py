"""Live speech cut into utterances, as the probabilities arrive (for `llm listen`).

``speech_regions`` reads a whole recording; a listener cannot wait for the end. Here
probabilities (one per 32 ms, from the same VAD) are fed as they come, and an
utterance is complete once ``end_silence`` seconds have passed below the silence
threshold: that hangover is the only delay between someone stopping and the
transcription starting. The same thresholds as speech_regions: speech starts at
``threshold`` and ends below ``threshold - 0.15``. Pure arithmetic on sample counts.
"""

from __future__ import annotations

CHUNK = 512


class UtteranceCutter:
    def __init__(
        self,
        threshold: float = 0.5,
        end_silence: float = 0.8,
        min_speech: float = 0.25,
        pad: float = 0.3,
        max_seconds: float = 30.0,
        rate: int = 16000,
    ):
        self.threshold = threshold
        self.end_silence = end_silence
        self.low = max(threshold - 0.15, 0.01)
        self.rate = rate
        self._end_silence = int(end_silence * rate / CHUNK)
        self._min_speech = int(min_speech * rate / CHUNK)
        self._pad = int(pad * rate)
        self._max = int(max_seconds * rate / CHUNK)
        self.position = 0  # chunks seen
        self._start: int | None = None  # chunk where the current utterance began
        self._quiet_since: int | None = None
        self.last_voice: int | None = None  # last chunk at or above threshold

    @property
    def in_speech(self) -> bool:
        return self._start is not None

    @property
    def speech_start(self) -> int | None:
        """The sample where the utterance in progress starts, padding included (None between)."""
        return None if self._start is None else max(0, self._start * CHUNK - self._pad)

    @property
    def heard_speech(self) -> bool:
        return self.last_voice is not None

    def silence_seconds(self) -> float:
        """Seconds since the last speech (0 while speaking or before any speech)."""
        if self.in_speech or self.last_voice is None:
            return 0.0
        return (self.position - self.last_voice - 1) * CHUNK / self.rate

    def keep_from(self) -> int:
        """The first sample a listener must still keep: an utterance may start there."""
        start = self.position if self._start is None else self._start
        return max(0, start * CHUNK - self._pad)

    def feed(self, probabilities) -> list[tuple[int, int]]:
        """The (start, end) sample ranges of the utterances that these probabilities complete."""
        done = []
        for p in probabilities:
            here = self.position
            self.position += 1
            if p >= self.threshold:
                self.last_voice = here
                self._quiet_since = None
                if self._start is None:
                    self._start = here
                elif here - self._start >= self._max:  # a monologue: cut it into pieces
                    done.append(self._close(here))
                    self._start = here
                continue
            if self._start is None:
                continue
            if p < self.low and self._quiet_since is None:
                self._quiet_since = here
            if self._quiet_since is not None and here + 1 - self._quiet_since >= self._end_silence:
                utterance = self._close(self._quiet_since)
                if utterance is not None:
                    done.append(utterance)
        return [u for u in done if u is not None]

    def flush(self) -> list[tuple[int, int]]:
        """The utterance in progress, ended now (at stop: Ctrl-C, --duration)."""
        if self._start is None:
            return []
        end = self._quiet_since if self._quiet_since is not None else self.position
        utterance = self._close(end)
        return [utterance] if utterance is not None else []

    def _close(self, end_chunk: int):
        start_chunk, self._start, self._quiet_since = self._start, None, None
        if end_chunk - start_chunk < self._min_speech:
            return None
        start = max(0, start_chunk * CHUNK - self._pad)
        end = min(self.position * CHUNK, end_chunk * CHUNK + self._pad)
        return start, end
