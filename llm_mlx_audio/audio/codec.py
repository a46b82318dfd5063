"""Audio in and out: decode whatever the user hands us, encode speech the way OpenAI's speech API does.

Everything goes through PyAV, whose wheels bundle FFmpeg's libraries: m4a voice memos, ogg/opus,
webm and the soundtrack of a video decode with no ffmpeg binary installed. wav and raw pcm are written
by hand so their bytes are exact and need no codec at all.

PyAV and numpy are imported inside the functions: this module is imported on every `llm` call.
"""

from __future__ import annotations

import io
import operator
import os
import struct
from fractions import Fraction

from ..errors import AudioError

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

# FFmpeg demuxers that "succeed" on images and on text (tty: ANSI art, picked for .txt files).
_NOT_MEDIA_FORMATS = {"tty", "image2", "image2pipe", "gif", "apng", "webp_pipe"}

# Ogg pages are cut every 200 ms instead of FFmpeg's 1 s, so streamed speech starts sooner.
_OGG_PAGE_DURATION_US = "200000"

_WAV_STREAMING_SIZE = 0xFFFFFFFF


class AudioFormatError(AudioError, ValueError):
    """An output format we do not know, or audio that cannot be encoded in it."""


class AudioDecodeError(AudioError, ValueError):
    """Input that holds no audio we can decode: missing, empty, not audio, no audio track, cut short."""


def format_from_path(path) -> str | None:
    """The output format a file name asks for (`speech.m4a` -> "aac"), or None when it says nothing.

    Lets `llm speak -o out.ogg` pick the format without a separate option.
    """
    extension = os.path.splitext(os.fspath(path))[1].lower()
    return _EXTENSIONS.get(extension)


def decode_audio(source, sample_rate: int = 16000, *, name: str | None = None):
    """Decode a file path, bytes or binary file object to float32 mono samples in [-1, 1] at sample_rate.

    Channels are averaged rather than left to FFmpeg's downmix, whose 0.707 gains push a loud
    stereo recording past 1.0. Frames are collected in a list and joined once, so memory grows
    linearly with the length of the recording. A file cut short still returns the audio before the
    cut; `name` labels the input in error messages (e.g. "<stdin>" for piped bytes).
    """
    import numpy as np

    sample_rate = _check_rate(sample_rate, ValueError)
    chunks = []
    with _open_input(source, name) as (container, label):
        stream = _audio_stream(container, label)
        resampler = _Downmixer(sample_rate)
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except _ffmpeg_error():
                    continue  # one damaged packet: FFmpeg's own tools skip it too
                for frame in frames:
                    chunks.extend(resampler.resample(frame))
        except _ffmpeg_error():
            pass  # the file ends mid-packet: keep what came before
        chunks.extend(resampler.flush())
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if samples.size == 0:
        raise AudioDecodeError(f"{label} holds no decodable audio (is it truncated or corrupt?)")
    np.nan_to_num(samples, copy=False)
    np.clip(samples, -1.0, 1.0, out=samples)
    return samples


def audio_duration(source, *, name: str | None = None) -> float | None:
    """Seconds of audio, read from the container's header without decoding; None if it does not say.

    Raises AudioDecodeError for the same inputs decode_audio refuses before decoding (missing,
    empty, not audio, no audio stream). Header durations are estimates for some inputs (an mp3
    without a Xing header, a streamed wav): decode when the exact length matters.
    """
    with _open_input(source, name) as (container, label):
        stream = _audio_stream(container, label)
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if container.duration and container.duration > 0:
            return container.duration / 1_000_000  # AV_TIME_BASE
        return None


def encode_audio(samples, sample_rate: int, format: str) -> bytes:
    """Encode float mono samples (clipped to [-1, 1]) as a complete file in one of FORMATS.

    wav gets exact RIFF sizes here (StreamEncoder's wav cannot know them in advance); every other
    format goes through StreamEncoder, with a seekable output so muxers can finish their headers
    (the mp3 Xing/LAME frame with the true length, flac's STREAMINFO sample count).
    """
    fmt = _check_format(format)
    sample_rate = _check_rate(sample_rate, AudioFormatError)
    if fmt == "wav":
        data = _pcm16(samples)
        return _wav_header(sample_rate, data) + data
    encoder = StreamEncoder(fmt, sample_rate, _seekable=True)
    return encoder.write(samples) + encoder.close()


class StreamEncoder:
    """Incremental encoder for streaming speech: bytes come out as chunks go in.

    The concatenation of everything write() and close() return is one valid file or stream.
    A streamed wav says 0xFFFFFFFF in its RIFF and data sizes ("length unknown"), which FFmpeg,
    sox and Python's wave module all read. Not thread-safe: feed one encoder from one thread.
    """

    def __init__(self, format: str, sample_rate: int, *, _seekable: bool = False):
        self.format = _check_format(format)
        self.sample_rate = _check_rate(sample_rate, AudioFormatError)
        self._closed = False
        self._header_sent = False
        self._av = None
        if self.format in _AV_ENCODERS:
            self._av = _AvEncoder(self.format, self.sample_rate, seekable=_seekable)

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
        except _ffmpeg_error() as error:
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
        except _ffmpeg_error() as error:
            raise AudioFormatError(f"cannot finish the {self._fmt} stream: {error}") from error
        return self._sink.drain(final=True)

    def _encode(self, frame) -> None:
        try:
            self._container.mux(self._stream.encode(frame))
        except _ffmpeg_error() as error:
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


class _Downmixer:
    """Resample decoded frames to one rate and average their channels to mono.

    A new FFmpeg resampler starts whenever the input's format, layout or rate changes mid-stream
    (some AAC and broadcast streams switch), since one resampler accepts only one input setup.
    """

    def __init__(self, rate: int):
        self._rate = rate
        self._resampler = None
        self._setup = None

    def resample(self, frame) -> list:
        import av

        setup = (frame.format.name, frame.layout.name, frame.sample_rate)
        out = []
        if setup != self._setup:
            out = self.flush()
            self._resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=self._rate)
            self._setup = setup
        return out + [_mean_channels(f) for f in self._resampler.resample(frame)]

    def flush(self) -> list:
        if self._resampler is None:
            return []
        frames = self._resampler.resample(None)
        self._resampler = None
        self._setup = None
        return [_mean_channels(f) for f in frames]


def _mean_channels(frame):
    planes = frame.to_ndarray()  # (channels, samples) for planar float
    return planes.mean(axis=0, dtype="float32") if planes.shape[0] > 1 else planes[0].copy()


class _open_input:
    """Context manager: (PyAV input container, label for messages), or AudioDecodeError."""

    def __init__(self, source, name: str | None):
        self._source = source
        self._name = name
        self._file = None
        self._container = None

    def __enter__(self):
        import av

        fileobj, label = self._fileobj()
        try:
            self._container = av.open(fileobj, mode="r")
        except _ffmpeg_error() as error:
            self._close_file()
            raise AudioDecodeError(
                f"{label} is not audio FFmpeg can read (unknown format, truncated or corrupt)"
            ) from error
        return self._container, label

    def __exit__(self, *exc_info):
        if self._container is not None:
            self._container.close()
        self._close_file()
        return False

    def _close_file(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def _fileobj(self):
        source = self._source
        if isinstance(source, (bytes, bytearray, memoryview)):
            return _bytes_input(bytes(source), self._name or "the input")
        if hasattr(source, "read"):
            label = self._name or str(getattr(source, "name", "the input"))
            return _bytes_input(source.read(), label)
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(f"decode needs a path, bytes or a binary file, not {type(source).__name__}")
        path = os.fspath(source)
        label = self._name or path
        if not os.path.exists(path):
            raise AudioDecodeError(f"{label}: no such file")
        if os.path.isdir(path):
            raise AudioDecodeError(f"{label} is a directory, not an audio file")
        try:
            self._file = open(path, "rb")  # a Python file, so FFmpeg never parses the path as a URL
        except OSError as error:
            raise AudioDecodeError(f"cannot read {label}: {error.strerror or error}") from error
        if os.fstat(self._file.fileno()).st_size == 0:
            self._close_file()
            raise AudioDecodeError(f"{label} is empty")
        return self._file, label


def _bytes_input(data: bytes, label: str):
    if not data:
        raise AudioDecodeError(f"{label} is empty")
    return io.BytesIO(data), label


def _audio_stream(container, label: str):
    """The container's main audio stream, or an AudioDecodeError that says what it holds instead."""
    if container.streams.audio:
        stream = container.streams.best("audio") or container.streams.audio[0]
        if stream.codec_context is None:
            raise AudioDecodeError(f"{label}: FFmpeg has no decoder for its audio codec")
        return stream
    format_name = container.format.name
    if format_name in _NOT_MEDIA_FORMATS or format_name.endswith("_pipe"):
        looks_like = "text" if format_name == "tty" else "an image"
        raise AudioDecodeError(f"{label} is not an audio file (it looks like {looks_like})")
    if container.streams.video:
        raise AudioDecodeError(f"{label} has no audio track, only video")
    raise AudioDecodeError(f"{label} has no audio stream")


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
        b"RIFF" + struct.pack("<I", riff_size) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk
        + b"data" + struct.pack("<I", data_size)
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


def _check_rate(sample_rate: int, error_class) -> int:
    """sample_rate as a plain int (numpy integers from a model's config are fine), or error_class."""
    try:
        rate = operator.index(sample_rate)
    except TypeError:
        rate = 0
    if isinstance(sample_rate, bool) or not 0 < rate <= 1_000_000:
        raise error_class(f"sample rate must be a positive whole number of Hz, not {sample_rate!r}")
    return rate


def _ffmpeg_error():
    import av

    return av.FFmpegError
