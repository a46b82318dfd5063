"""A Realtime session's input audio buffer: pcm16 in, utterances out.

Appended audio (base64 pcm16 at the session's rate) is resampled to 16 kHz, the rate
of the VAD and the transcribers, and kept on one clock: samples since the session
began, so ``audio_start_ms`` and ``audio_end_ms`` mean what OpenAI says they mean.
With server VAD the same detector and live cutter as `llm listen` find where speech
starts and stops (audio/utterances.py); without it the client commits. What is kept
is bounded: with VAD only what an utterance in progress may still need, without it
``MAX_BUFFER_SECONDS`` of audio, past which appends are refused.

Blocking work (the VAD on the MLX thread) is the caller's to put on a worker thread.
"""

from __future__ import annotations

import base64
import binascii

from .events import RealtimeError
from .settings import TurnDetection

RATE = 16000
MAX_BUFFER_SECONDS = 15 * 60
#: OpenAI's limit on one append event's audio.
MAX_APPEND_BYTES = 15 * 1024 * 1024
MIN_COMMIT_MS = 100


def decode_pcm16(audio: str):
    """The float32 samples of a base64 string of little-endian 16-bit pcm."""
    import numpy as np

    if not isinstance(audio, str):
        raise RealtimeError("audio must be a base64 string of 16-bit pcm", param="audio")
    if len(audio) > MAX_APPEND_BYTES * 4 // 3 + 4:
        raise RealtimeError("audio is larger than 15 MB in one append", code="audio_too_large", param="audio")
    try:
        data = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise RealtimeError("audio is not valid base64", param="audio") from None
    if len(data) % 2:
        raise RealtimeError("audio must be whole 16-bit samples (an even number of bytes)", param="audio")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


class InputBuffer:
    """Samples since the last commit or clear, at 16 kHz, and the live VAD's view of them."""

    def __init__(self, rate: int, detection: TurnDetection | None, detector=None, clock: int = 0):
        import numpy as np

        from ...audio.resampling import StreamResampler

        self._resample = StreamResampler(rate, RATE)
        self._detector = detector
        self._cutter = None
        if detection is not None and detector is not None:
            from ...audio.utterances import UtteranceCutter

            self._cutter = UtteranceCutter(
                threshold=detection.threshold,
                end_silence=detection.silence_duration_ms / 1000,
                pad=detection.prefix_padding_ms / 1000,
            )
        self._samples = np.zeros(0, np.float32)
        # A new buffer (new settings) goes on with the session's clock; the cutter counts from 0.
        self._base = clock
        self._offset = clock  # the clock's sample at _samples[0]
        self.total = clock  # samples on the clock so far
        self._committed_to = clock  # the clock's sample up to which audio was committed or cleared

    @property
    def in_speech(self) -> bool:
        return self._cutter is not None and self._cutter.in_speech

    def speech_start_ms(self) -> int:
        return ms(self._base + (self._cutter.speech_start or 0))

    def append(self, samples) -> list[tuple[int, int, object]]:
        """Add samples at the session's rate; the utterances (start, end, samples) they complete."""
        import numpy as np

        block = self._resample(samples)
        if self._cutter is None and self.total + len(block) - self._committed_to > MAX_BUFFER_SECONDS * RATE:
            raise RealtimeError(
                f"the input audio buffer holds {MAX_BUFFER_SECONDS // 60} minutes already: commit or clear it",
                code="input_audio_buffer_full",
                param="audio",
            )
        self._samples = np.concatenate([self._samples, block])
        self.total += len(block)
        if self._cutter is None:
            return []
        ranges = self._cutter.feed(self._detector.probabilities(block))
        base = self._base
        done = [(base + start, base + end, self._take(base + start, base + end)) for start, end in ranges]
        self._drop_before(base + self._cutter.keep_from())
        return done

    def commit(self) -> tuple[int, int, object]:
        """Everything not yet committed (an utterance in progress included), as one stretch."""
        start = self._committed_to
        if self._cutter is not None and self._cutter.in_speech:
            start = max(start, self._base + (self._cutter.speech_start or 0))
            self._cutter.flush()
        if self.total - start < MIN_COMMIT_MS * RATE // 1000:
            raise RealtimeError(
                f"the input audio buffer holds less than {MIN_COMMIT_MS} ms of audio: nothing to commit",
                code="input_audio_buffer_commit_empty",
            )
        samples = self._take(start, self.total)
        self._drop_before(self.total)
        return start, self.total, samples

    def clear(self) -> None:
        if self._cutter is not None:
            self._cutter.flush()
        self._committed_to = self.total
        self._drop_before(self.total)

    def _take(self, start: int, end: int):
        self._committed_to = max(self._committed_to, end)
        return self._samples[max(start - self._offset, 0) : max(end - self._offset, 0)].copy()

    def _drop_before(self, sample: int) -> None:
        sample = min(sample, self.total)
        if sample > self._offset:
            self._samples = self._samples[sample - self._offset :]
            self._offset = sample


def ms(sample: int) -> int:
    """A sample on the session's 16 kHz clock, in milliseconds."""
    return sample * 1000 // RATE
