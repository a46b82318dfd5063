"""Playing speech through the default output device.

sounddevice is imported here and only here, when playing: importing it raises
OSError on a machine without PortAudio, which must never break other commands.
"""

from ..errors import AudioError

_INSTALL_HINT = "install PortAudio (macOS: brew install portaudio; Debian/Ubuntu: apt install libportaudio2)"


def _sounddevice():
    try:
        import sounddevice
    except (ImportError, OSError):
        raise AudioError(
            f"Cannot play audio: PortAudio is not available; {_INSTALL_HINT}, or write a file with -o"
        ) from None
    return sounddevice


def check_playback() -> None:
    """Fail early, before synthesizing, when nothing can play."""
    sd = _sounddevice()
    try:
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

    Chunks go into one open output stream from a writer thread, so the next
    sentence is being synthesized while this one plays, and consecutive chunks
    join without a gap or click beyond the model's own pauses.
    """

    def __init__(self, sample_rate: int, device: int | None = None):
        import queue
        import threading

        self._sd = _sounddevice()
        self._queue: queue.Queue = queue.Queue()
        self._error: Exception | None = None
        self._closed_input = False
        try:
            self._stream = self._sd.OutputStream(
                samplerate=sample_rate, channels=1, dtype="float32", device=device
            )
            self._stream.start()
        except Exception as e:
            raise AudioError(f"Cannot play audio: {e}") from None
        self._thread = threading.Thread(target=self._run, name="llm-mlx-audio-player", daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            samples = self._queue.get()
            if samples is None:
                return
            try:
                self._stream.write(samples.reshape(-1, 1))
            except Exception as e:  # device vanished mid-play
                self._error = e
                return

    def feed(self, samples) -> None:
        if self._error is not None:
            raise AudioError(f"Cannot play audio: {self._error}")
        self._queue.put(samples)

    def done(self, timeout: float) -> bool:
        """Whether everything fed has been played, waiting at most timeout seconds (no more feeding after)."""
        if not self._closed_input:
            self._closed_input = True
            self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def finish(self) -> None:
        """Wait until everything fed has been played."""
        if not self._closed_input:
            self._closed_input = True
            self._queue.put(None)
        self._thread.join()
        self._stream.stop()
        self._stream.close()

    def stop(self) -> None:
        """Stop at once (Ctrl-C)."""
        self._stream.abort()
        self._queue.put(None)
        self._stream.close()
