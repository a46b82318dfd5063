"""Audio in: decode whatever the user hands us into mono float32 at the model's rate.

Everything goes through PyAV, whose wheels bundle FFmpeg's libraries: m4a voice memos,
ogg/opus, webm and the soundtrack of a video decode with no ffmpeg binary installed.

PyAV and numpy are imported inside the functions: this module is imported on every `llm` call.

A small file can decode to hours (an hour of near-silence is 6 KB of FLAC, 180 KB of Opus), so
decoding counts samples as they come out and stops at an optional limit (max_seconds), and
stops when whoever asked for it has gone (stop_decoding_when), rather than after the fact.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import os

from ..errors import AudioDecodeError, AudioTooLongError, JobCancelled
from .checks import check_rate, ffmpeg_error

# FFmpeg demuxers that "succeed" on images and on text (tty: ANSI art, picked for .txt files).
_NOT_MEDIA_FORMATS = {"tty", "image2", "image2pipe", "gif", "apng", "webp_pipe"}
# Set by whoever may go away before decoding ends (the engine's cancel_when, for a server
# request): a callable that says "stop", asked between packets on the thread that decodes.
_should_stop: contextvars.ContextVar = contextvars.ContextVar("decode_should_stop", default=None)


@contextlib.contextmanager
def stop_decoding_when(should_stop):
    """Decoding in this context raises JobCancelled at its next packet once should_stop() is true.

    A context rather than an argument, so that every decode of a job stops, however deep in
    a model's transcribe() it happens (third-party models' too).
    """
    reset = _should_stop.set(should_stop)
    try:
        yield
    finally:
        _should_stop.reset(reset)


def decode_audio(
    source, sample_rate: int = 16000, *, name: str | None = None, max_seconds: float | None = None
):
    """Decode a file path, bytes or binary file object to float32 mono samples in [-1, 1] at sample_rate.

    Channels are averaged rather than left to FFmpeg's downmix, whose 0.707 gains push a loud
    stereo recording past 1.0. A file cut short still returns the audio before the cut; `name`
    labels the input in error messages (e.g. "<stdin>" for piped bytes). Audio longer than
    max_seconds (None: no limit) raises AudioTooLongError once that much has been decoded.
    """
    import numpy as np

    pieces = list(decode_pieces(source, sample_rate, name=name, max_seconds=max_seconds))
    return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]


def decode_pieces(
    source,
    sample_rate: int = 16000,
    *,
    name: str | None = None,
    seconds: float = 60.0,
    max_seconds: float | None = None,
):
    """decode_audio's samples as consecutive pieces of about `seconds` each, decoded as they are read.

    What long recordings go through: memory holds one piece, not the whole file (an hour of
    16 kHz float32 is 230 MB). Raises AudioDecodeError, before yielding anything, for inputs
    that hold no decodable audio; AudioTooLongError the moment the audio passes max_seconds.
    """
    import numpy as np

    sample_rate = check_rate(sample_rate, ValueError)
    check_max_seconds(max_seconds)
    target = max(1, int(seconds * sample_rate))
    chunks, size, yielded = [], 0, False
    with _open_input(source, name) as (container, label):
        limit = _Limit(label, sample_rate, max_seconds)
        for chunk in _decoded_frames(container, label, sample_rate, limit):
            chunks.append(chunk)
            size += len(chunk)
            if size >= target:
                yield _clean(np.concatenate(chunks))
                chunks, size, yielded = [], 0, True
        if chunks and size:
            yield _clean(np.concatenate(chunks))
            yielded = True
        if not yielded:
            raise AudioDecodeError(f"{label} holds no decodable audio (is it truncated or corrupt?)")


def _decoded_frames(container, label, sample_rate, limit):
    """Mono chunks at sample_rate, a frame at a time, each counted against limit as it comes out."""
    stream = _audio_stream(container, label)
    resampler = _Downmixer(sample_rate)
    should_stop = _should_stop.get()
    try:
        for packet in container.demux(stream):
            if should_stop is not None and should_stop():
                raise JobCancelled(f"Decoding {label} stopped: whoever asked for it has gone")
            try:
                frames = packet.decode()
            except ffmpeg_error():
                continue  # one damaged packet: FFmpeg's own tools skip it too
            for frame in frames:
                for chunk in resampler.resample(frame):
                    yield limit.count(chunk)
    except ffmpeg_error():
        pass  # the file ends mid-packet: keep what came before
    for chunk in resampler.flush():
        yield limit.count(chunk)


class _Limit:
    """Samples decoded so far from the input called label, against max_seconds (None: no limit)."""

    def __init__(self, label: str, sample_rate: int, max_seconds: float | None):
        self._label = label
        self._rate = sample_rate
        self._max_seconds = max_seconds
        self._total = 0

    def count(self, chunk):
        """chunk, unless with it the audio passes the limit: then AudioTooLongError."""
        self._total += len(chunk)
        check_length(self._total, self._rate, self._max_seconds, self._label)
        return chunk


def check_max_seconds(max_seconds: float | None) -> None:
    """A limit must be a number of seconds above 0 (None: no limit); anything else is a bug."""
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be more than 0, not {max_seconds!r}")


def check_length(samples: int, sample_rate: int, max_seconds: float | None, label: str) -> None:
    """Raise AudioTooLongError if `samples` samples at sample_rate last longer than max_seconds."""
    if max_seconds is not None and samples > max_seconds * sample_rate:
        raise AudioTooLongError(
            f"{label} is longer than the {max_seconds / 60:g}-minute limit (--max-audio-minutes)"
        )


def _clean(samples):
    import numpy as np

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
        except ffmpeg_error() as error:
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
            self._file = open(path, "rb")  # noqa: SIM115 (closed in __exit__); a Python file, so FFmpeg never parses the path as a URL
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
