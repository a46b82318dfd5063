"""Mono float32 resampling of a stream, block by block, with FFmpeg's resampler.

Live audio (the microphone, a Realtime client's 24 kHz pcm16) comes in blocks that
must not click at their joins, so the resampler keeps its state between blocks; PyAV
is already a dependency for decoding. ``None`` flushes what it still holds.
"""

from __future__ import annotations


class StreamResampler:
    """Streaming mono float32 resampling with FFmpeg's resampler (state kept between blocks)."""

    def __init__(self, source_rate: int, target_rate: int):
        self.source_rate, self.target_rate = source_rate, target_rate
        self._resampler = None
        if source_rate != target_rate:
            import av

            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=target_rate)

    def __call__(self, block):
        import numpy as np

        if self._resampler is None:
            return np.zeros(0, np.float32) if block is None else block
        import av

        if block is None:
            frames = self._resampler.resample(None)
        else:
            frame = av.AudioFrame.from_ndarray(
                block.reshape(1, -1).astype(np.float32), format="flt", layout="mono"
            )
            frame.sample_rate = self.source_rate
            frames = self._resampler.resample(frame)
        parts = [f.to_ndarray().reshape(-1) for f in frames]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
