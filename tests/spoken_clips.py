"""Real speech made at test time with espeak-ng, for tests that need audio the VAD keeps.

Transcription cuts silence, tones and noise before decoding; a test clip that should
reach the model has to be speech. espeak-ng is a test requirement (scripts/setup test).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from llm_mlx_audio.audio.decode import decode_audio
from llm_mlx_audio.audio.encode import encode_audio

RATE = 16000
HAVE_ESPEAK = shutil.which("espeak-ng") is not None


@functools.lru_cache(maxsize=64)
def _spoken(text: str, voice: str, speed: int) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text],
            check=True,
            capture_output=True,
        )
        return path.read_bytes()


def speech_samples(text: str, voice: str = "en-us", speed: int = 160, rate: int = RATE) -> np.ndarray:
    """espeak-ng saying text, as mono float32 at rate."""
    return decode_audio(_spoken(text, voice, speed), rate)


def speech_wav(
    text: str = "Hello there, how are you today?", voice: str = "en-us", rate: int = RATE
) -> bytes:
    """espeak-ng saying text, as a 16-bit wav file's bytes."""
    return encode_audio(speech_samples(text, voice, rate=rate), rate, "wav")


def with_pauses(parts, rate: int = RATE) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Join speech (str) and pauses (float seconds, silence) into one recording.

    Returns the samples and the true (start, end) seconds of each spoken part.
    """
    pieces, spans, at = [], [], 0
    for part in parts:
        if isinstance(part, str):
            samples = _trimmed(speech_samples(part, rate=rate))
            spans.append((at / rate, (at + len(samples)) / rate))
        else:
            samples = np.zeros(int(part * rate), np.float32)
        pieces.append(samples)
        at += len(samples)
    return np.concatenate(pieces), spans


def _trimmed(samples: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """Without espeak's leading and trailing silence, so the spoken span is exact."""
    loud = np.flatnonzero(np.abs(samples) > floor)
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


def wav_seconds(wav) -> float:
    """The length of a wav file (path or bytes), from its header."""
    import io
    import wave

    source = io.BytesIO(wav) if isinstance(wav, (bytes, bytearray)) else str(wav)
    with wave.open(source) as w:
        return w.getnframes() / w.getframerate()
