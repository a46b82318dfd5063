"""From speech probabilities to the stretches of a recording worth transcribing, and back.

``speech_regions`` is Silero's own rule set (as faster-whisper ships it, MIT):
speech starts where the probability reaches ``threshold``, ends after
``min_silence_ms`` below ``threshold - 0.15``, is split at a short pause when it
grows past ``max_speech_s``, and is padded by ``pad_ms`` on both sides.
``pack_windows`` joins regions into windows of at most 30 s (what Whisper reads at
once), and ``Window.to_original`` maps a time inside a window back to the
recording's clock, so no segment is ever stamped inside a pause that was cut out.

Pure numpy and arithmetic: live listening and diarization use the same functions.
"""

from __future__ import annotations

import bisect
import dataclasses

CHUNK = 512  # samples per probability (Silero at 16 kHz)


@dataclasses.dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5
    min_speech_ms: int = 250
    min_silence_ms: int = 2000
    pad_ms: int = 400
    max_speech_s: float = 30.0


def speech_regions(probabilities, total_samples: int, options: VadOptions = VadOptions(), rate: int = 16000):
    """[(start, end)] sample ranges of speech, in order, not overlapping."""
    threshold = options.threshold
    low = max(threshold - 0.15, 0.01)
    min_speech = rate * options.min_speech_ms / 1000
    pad = rate * options.pad_ms / 1000
    max_speech = rate * options.max_speech_s - CHUNK - 2 * pad
    min_silence = rate * options.min_silence_ms / 1000
    min_silence_at_max = rate * 98 / 1000

    speeches: list[list[int]] = []
    current: list[int] | None = None
    temp_end = prev_end = next_start = 0
    for i, p in enumerate(probabilities):
        here = CHUNK * i
        if p >= threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = here
        if p >= threshold and current is None:
            current = [here, 0]
            continue
        if current is not None and here - current[0] > max_speech:
            if prev_end:  # split at the last pause long enough
                current[1] = prev_end
                speeches.append(current)
                current = None if next_start < prev_end else [next_start, 0]
                prev_end = next_start = temp_end = 0
            else:  # no pause at all: cut hard
                current[1] = here
                speeches.append(current)
                current = None
                prev_end = next_start = temp_end = 0
                continue
        if p < low and current is not None:
            if not temp_end:
                temp_end = here
            if here - temp_end > min_silence_at_max:
                prev_end = temp_end
            if here - temp_end < min_silence:
                continue
            current[1] = temp_end
            if current[1] - current[0] > min_speech:
                speeches.append(current)
            current = None
            prev_end = next_start = temp_end = 0
    if current is not None and total_samples - current[0] > min_speech:
        current[1] = total_samples
        speeches.append(current)
    return _pad(speeches, pad, total_samples)


def _pad(speeches, pad, total):
    for i, speech in enumerate(speeches):
        if i == 0:
            speech[0] = int(max(0, speech[0] - pad))
        if i < len(speeches) - 1:
            gap = speeches[i + 1][0] - speech[1]
            if gap < 2 * pad:  # share a short pause between the two
                speech[1] += int(gap // 2)
                speeches[i + 1][0] = int(max(0, speeches[i + 1][0] - gap // 2))
            else:
                speech[1] = int(min(total, speech[1] + pad))
                speeches[i + 1][0] = int(max(0, speeches[i + 1][0] - pad))
        else:
            speech[1] = int(min(total, speech[1] + pad))
    return [(int(s), int(e)) for s, e in speeches if e > s]


@dataclasses.dataclass
class Window:
    """Speech regions read as one stretch of audio: [(start, end)] samples of the recording."""

    regions: list[tuple[int, int]]
    rate: int = 16000

    @property
    def samples(self) -> int:
        return sum(end - start for start, end in self.regions)

    @property
    def start(self) -> float:
        return self.regions[0][0] / self.rate

    @property
    def end(self) -> float:
        return self.regions[-1][1] / self.rate

    def _seams(self) -> list[int]:
        """Where each region ends inside the joined audio, in samples."""
        ends, offset = [], 0
        for start, end in self.regions:
            offset += end - start
            ends.append(offset)
        return ends

    def seams(self) -> list[float]:
        """The times inside the joined audio where one region ends and the next begins."""
        return [end / self.rate for end in self._seams()[:-1]]

    def to_original(self, seconds: float, is_end: bool = False) -> float:
        """The recording's time for a time inside the window's joined audio.

        A time on the seam between two regions is the end of the first when it ends
        something (``is_end``), else the start of the second.
        """
        sample = seconds * self.rate
        ends = self._seams()
        index = bisect.bisect_left(ends, sample) if is_end else bisect.bisect_right(ends, sample)
        index = min(index, len(self.regions) - 1)
        before = ends[index - 1] if index else 0
        start, end = self.regions[index]
        return round(min(start + max(sample - before, 0), end) / self.rate, 3)

    def span(self, start: float, end: float, snap: float = 0.3) -> tuple[float, float]:
        """A segment's (start, end) on the recording's clock.

        Whisper chains segments end to start, so the one after a seam often "starts"
        in the padding that ends the region before it, up to a pause that was cut out.
        A start less than ``snap`` seconds before a seam the segment crosses moves to
        the next region; an end less than ``snap`` after one moves back to the seam.
        """
        ends = [e / self.rate for e in self._seams()]
        first = min(bisect.bisect_right(ends, start), len(ends) - 1)
        last = min(bisect.bisect_left(ends, end), len(ends) - 1)
        new_start, new_end = start, end
        if first < last and ends[first] - start < snap:
            new_start = ends[first]
            first += 1
        if last > first and end - ends[last - 1] < snap:
            new_end = ends[last - 1]
        if new_end < new_start:
            new_start, new_end = start, end
        return self.to_original(new_start), self.to_original(new_end, is_end=True)


def pack_windows(regions, max_seconds: float = 30.0, rate: int = 16000) -> list[Window]:
    """Join consecutive regions into windows of at most max_seconds of audio."""
    limit = int(max_seconds * rate)
    windows: list[Window] = []
    current: list[tuple[int, int]] = []
    length = 0
    for start, end in regions:
        while end - start > limit:  # (speech_regions already splits; be safe)
            if current:
                windows.append(Window(current, rate))
                current, length = [], 0
            windows.append(Window([(start, start + limit)], rate))
            start += limit
        if current and length + (end - start) > limit:
            windows.append(Window(current, rate))
            current, length = [], 0
        current.append((start, end))
        length += end - start
    if current:
        windows.append(Window(current, rate))
    return windows


def fixed_windows(total_samples: int, max_seconds: float = 30.0, rate: int = 16000) -> list[Window]:
    """The whole recording as back-to-back windows (no VAD)."""
    limit = int(max_seconds * rate)
    return [Window([(s, min(s + limit, total_samples))], rate) for s in range(0, total_samples, limit)]
