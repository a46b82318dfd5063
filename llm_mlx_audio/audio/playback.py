"""Playing speech through the default output device (sounddevice via audio/portaudio.py)."""

from ..errors import AudioError
from .portaudio import quiet_native_stderr, sounddevice


def _sounddevice():
    return sounddevice("play audio", fix=", or write a file with -o")


def check_playback() -> None:
    """Fail early, before synthesizing, when nothing can play."""
    sd = _sounddevice()
    try:
        with quiet_native_stderr():
            device = sd.query_devices(kind="output")
    except Exception:
        device = None
    if not device:
        raise AudioError("Cannot play audio: no output device found; write a file with -o instead")


def play_audio(audio) -> None:
    sd = _sounddevice()
    try:
        sd.play(audio.samples, audio.sample_rate)
        sd.wait()
    except KeyboardInterrupt:
        sd.stop()
        raise
    except Exception as e:
        raise AudioError(f"Cannot play audio: {e}") from None


class StreamPlayer:
    """Gapless playback of audio chunks as they arrive.

    Chunks join one open output stream, so the next sentence is being synthesized
    while this one plays, and consecutive chunks meet without a gap or click beyond
    the model's own pauses. PortAudio pulls the samples from its own thread (a
    callback): nothing ever blocks in a write, so stop() (barge-in, Ctrl-C) ends
    playback at once, without PortAudio complaining about a stream aborted under a
    writer. If synthesis falls behind, the callback plays silence until more comes.
    """

    def __init__(self, sample_rate: int, device: int | None = None):
        import collections
        import threading

        self._sd = _sounddevice()
        self._chunks: collections.deque = collections.deque()
        self._offset = 0  # samples of _chunks[0] already played
        self._lock = threading.Lock()
        self._closed_input = False
        self._abort = False
        self._finished = threading.Event()
        try:
            with quiet_native_stderr():
                self._open(sample_rate, device)
        except Exception as e:
            raise AudioError(f"Cannot play audio: {e}") from None

    def _open(self, sample_rate, device):
        self._stream = self._sd.OutputStream(
            samplerate=sample_rate,
            channels=1,
            dtype="float32",
            device=device,
            callback=self._callback,
            finished_callback=self._finished.set,
        )
        self._stream.start()

    def _callback(self, outdata, frames, time_info, status):
        if self._abort:
            raise self._sd.CallbackAbort
        filled = 0
        with self._lock:
            while filled < frames and self._chunks:
                chunk = self._chunks[0]
                take = min(frames - filled, len(chunk) - self._offset)
                outdata[filled : filled + take, 0] = chunk[self._offset : self._offset + take]
                filled += take
                self._offset += take
                if self._offset == len(chunk):
                    self._chunks.popleft()
                    self._offset = 0
            ended = self._closed_input and not self._chunks
        outdata[filled:] = 0
        if ended:  # PortAudio plays out what is buffered, then finishes
            raise self._sd.CallbackStop

    def feed(self, samples) -> None:
        import numpy as np

        if self._finished.is_set() and not self._closed_input:
            raise AudioError("Cannot play audio: the output device stopped")
        with self._lock:
            self._chunks.append(np.asarray(samples, np.float32).reshape(-1))

    def _close_input(self) -> None:
        with self._lock:
            self._closed_input = True

    def done(self, timeout: float) -> bool:
        """Whether everything fed has been played, waiting at most timeout seconds (no more feeding after)."""
        self._close_input()
        return self._finished.wait(timeout)

    def finish(self) -> None:
        """Wait until everything fed has been played."""
        self._close_input()
        self._finished.wait()
        self._stream.close()

    def stop(self) -> None:
        """Stop at once (barge-in, Ctrl-C), dropping what has not been played."""
        self._abort = True
        self._close_input()
        if not self._finished.wait(1.0):
            self._stream.abort()
        self._stream.close()
