"""Speech out: encode samples the way OpenAI's speech API answers, whole or as a stream.

wav and raw pcm are written by hand so their bytes are exact and need no codec; mp3,
flac, opus and aac go through PyAV, whose wheels bundle FFmpeg's libraries. This module
owns every byte of a wav header, including the true sizes written when a streamed
file is finished (``StreamEncoder.finish``).

PyAV and numpy are imported inside the functions: this module is imported on every `llm` call.
"""

from __future__ import annotations

import io
import os
import struct
from fractions import Fraction

from ..errors import AudioFormatError
from .checks import check_rate, ffmpeg_error

FORMATS = ("wav", "mp3", "flac", "opus", "aac", "pcm")

# The Content-Type an OpenAI-compatible /v1/audio/speech answer carries for each response_format.
MIME_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "pcm": "audio/pcm",
}

_EXTENSIONS = {
    ".wav": "wav",
    ".wave": "wav",
    ".mp3": "mp3",
    ".flac": "flac",
    ".ogg": "opus",
    ".opus": "opus",
    ".m4a": "aac",
    ".aac": "aac",
    ".pcm": "pcm",
    ".raw": "pcm",
}

# format -> (muxer, encoder, sample format fed to the encoder, bit rate or None for the codec's own).
# Bit rates suit mono speech; the Ogg muxer is the one OpenAI's "opus" answers come in, ADTS is a
# bare AAC stream that needs no seekable output (as OpenAI's "aac" answers are).
_AV_ENCODERS = {
    "mp3": ("mp3", "libmp3lame", "fltp", 64000),
    "flac": ("flac", "flac", "s16", None),
    "opus": ("ogg", "libopus", "flt", 48000),
    "aac": ("adts", "aac", "fltp", 64000),
}

# Ogg pages are cut every 200 ms instead of FFmpeg's 1 s, so streamed speech starts sooner.
_OGG_PAGE_DURATION_US = "200000"

_WAV_STREAMING_SIZE = 0xFFFFFFFF


def format_from_path(path) -> str | None:
    """The output format a file name asks for (`speech.m4a` -> "aac"), or None when it says nothing.

    Lets `llm speak -o out.ogg` pick the format without a separate option.
    """
    extension = os.path.splitext(os.fspath(path))[1].lower()
    return _EXTENSIONS.get(extension)


def encode_audio(samples, sample_rate: int, format: str) -> bytes:
    """Encode float mono samples (clipped to [-1, 1]) as a complete file in one of FORMATS.

    wav gets exact RIFF sizes here (StreamEncoder's wav cannot know them in advance); every other
    format goes through StreamEncoder, with a seekable output so muxers can finish their headers
    (the mp3 Xing/LAME frame with the true length, flac's STREAMINFO sample count).
    """
    fmt = _check_format(format)
    sample_rate = check_rate(sample_rate, AudioFormatError)
    if fmt == "wav":
        data = _pcm16(samples)
        return _wav_header(sample_rate, data) + data
    encoder = StreamEncoder(fmt, sample_rate, seekable=True)
    return encoder.write(samples) + encoder.close()


class StreamEncoder:
    """Incremental encoder for streaming speech: bytes come out as chunks go in.

    The concatenation of everything write() and close() return is one valid file or stream.
    A streamed wav says 0xFFFFFFFF in its RIFF and data sizes ("length unknown"), which FFmpeg,
    sox and Python's wave module all read; ``finish`` writes the true ones into a file. With
    ``seekable=True`` (output to a file, not a pipe) mp3 and flac muxers may seek back to finish
    their headers (exact lengths). Not thread-safe: feed one encoder from one thread.
    """

    def __init__(self, format: str, sample_rate: int, *, seekable: bool = False):
        self.format = _check_format(format)
        self.sample_rate = check_rate(sample_rate, AudioFormatError)
        self._closed = False
        self._header_sent = False
        self._av = None
        if self.format in _AV_ENCODERS:
            self._av = _AvEncoder(self.format, self.sample_rate, seekable=seekable)

    def write(self, samples) -> bytes:
        """Encode one chunk; returns the bytes ready so far (may be b"" while the codec buffers)."""
        if self._closed:
            raise RuntimeError("StreamEncoder.write() called after close()")
        if self._av is not None:
            return self._av.write(_mono_float32(samples))
        return self._header() + _pcm16(samples)

    def close(self) -> bytes:
        """Flush the codec and the container; returns the last bytes. Calling it again returns b""."""
        if self._closed:
            return b""
        self._closed = True
        if self._av is not None:
            return self._av.close()
        return self._header()

    def finish(self, file) -> None:
        """close() into a seekable file that holds this encoder's whole output, then give a
        wav its real RIFF and data sizes instead of 'length unknown'."""
        file.write(self.close())
        file.flush()
        if self.format != "wav":
            return
        size = file.tell()
        file.seek(4)
        file.write(struct.pack("<I", size - 8))
        file.seek(40)
        file.write(struct.pack("<I", size - 44))
        file.seek(size)

    def _header(self) -> bytes:
        if self._header_sent or self.format != "wav":
            return b""
        self._header_sent = True
        return _wav_header(self.sample_rate, None)


class _AvEncoder:
    """One PyAV output container with one mono audio stream, writing into memory."""

    def __init__(self, fmt: str, sample_rate: int, *, seekable: bool):
        import av

        muxer, codec_name, sample_format, bit_rate = _AV_ENCODERS[fmt]
        self._fmt = fmt
        self._rate = sample_rate
        self._pts = 0
        self._sink = _Sink(seekable)
        options = {}
        if not seekable:
            options["flush_packets"] = "1"  # hand each packet to the sink now, not per 32 KiB
        if muxer == "ogg":
            options["page_duration"] = _OGG_PAGE_DURATION_US
        codec_rate = _supported_rate(sample_rate, av.Codec(codec_name, "w").audio_rates)
        try:
            self._container = av.open(self._sink, mode="w", format=muxer, container_options=options)
            self._stream = self._container.add_stream(codec_name, rate=codec_rate)
            context = self._stream.codec_context
            context.layout = "mono"
            context.format = sample_format
            if bit_rate:
                context.bit_rate = bit_rate
        except ffmpeg_error() as error:
            raise AudioFormatError(f"cannot encode {fmt} at {sample_rate} Hz: {error}") from error

    def write(self, samples) -> bytes:
        import av

        if samples.size:
            # The codec context resamples to codec_rate and cuts the codec's frame size itself.
            frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
            frame.sample_rate = self._rate
            frame.time_base = Fraction(1, self._rate)
            frame.pts = self._pts
            self._pts += samples.size
            self._encode(frame)
        return self._sink.drain()

    def close(self) -> bytes:
        self._encode(None)
        try:
            if self._pts == 0:
                self._container.start_encoding()  # no audio came: still write a valid header
            self._container.close()
        except ffmpeg_error() as error:
            raise AudioFormatError(f"cannot finish the {self._fmt} stream: {error}") from error
        return self._sink.drain(final=True)

    def _encode(self, frame) -> None:
        try:
            self._container.mux(self._stream.encode(frame))
        except ffmpeg_error() as error:
            raise AudioFormatError(f"cannot encode {self._fmt} at {self._rate} Hz: {error}") from error


class _Sink(io.BytesIO):
    """In-memory output that PyAV may treat as a pipe, and whose bytes outlive the container.

    Not seekable for streaming, so no muxer seeks back into bytes already handed out. PyAV closes
    its file object when the container closes; close() is a no-op so the last bytes can be read.
    """

    def __init__(self, seekable: bool):
        super().__init__()
        self._seekable = seekable

    def seekable(self) -> bool:
        return self._seekable

    def close(self) -> None:
        pass

    def drain(self, final: bool = False) -> bytes:
        """Bytes written since the last drain; a seekable sink keeps all until the final drain."""
        if self._seekable and not final:
            return b""  # the muxer may still rewrite its header
        data = self.getvalue()
        self.seek(0)
        self.truncate()
        return data


def _mono_float32(samples):
    """samples as a contiguous 1-D float32 array in [-1, 1]; NaN (seen from untrained models) -> 0."""
    import numpy as np

    array = np.asarray(samples, dtype=np.float32)
    if array.ndim > 1 and sorted(array.shape)[-2] == 1:
        array = array.reshape(-1)  # (n, 1) or (1, n): one channel in a 2-D array
    if array.ndim != 1:
        raise AudioFormatError(f"expected mono samples (a 1-D array), got shape {array.shape}")
    array = np.nan_to_num(array, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.ascontiguousarray(np.clip(array, -1.0, 1.0))


def _pcm16(samples) -> bytes:
    import numpy as np

    array = _mono_float32(samples)
    return np.round(array * 32767.0).astype("<i2").tobytes()


def _wav_header(sample_rate: int, data: bytes | None) -> bytes:
    """RIFF/WAVE header for 16-bit mono PCM; data=None writes the 'length unknown' streaming sizes."""
    if data is None:
        riff_size = data_size = _WAV_STREAMING_SIZE
    else:
        data_size = len(data)
        if data_size + 36 > 0xFFFFFFFF:
            raise AudioFormatError("too much audio for one wav file (over 4 GiB)")
        riff_size = 36 + data_size
    fmt_chunk = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt_chunk))
        + fmt_chunk
        + b"data"
        + struct.pack("<I", data_size)
    )


def _supported_rate(rate: int, supported) -> int:
    """rate itself if the codec takes it, else the nearest higher rate it takes (never lose band)."""
    if not supported or rate in supported:
        return rate
    higher = [r for r in supported if r >= rate]
    return min(higher) if higher else max(supported)


def _check_format(format: str) -> str:
    fmt = str(format).lower().lstrip(".")
    if fmt not in FORMATS:
        raise AudioFormatError(f"unknown audio format {format!r}: choose one of {', '.join(FORMATS)}")
    return fmt
