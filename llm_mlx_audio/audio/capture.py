"""The microphone: input devices, and capture into a bounded queue, resampled for the models.

PortAudio's callback runs on its own thread and must never wait: it copies each block
into a queue and returns. The queue holds minutes of audio, so a listener busy
transcribing (the MLX thread is one thread) never loses speech; if it ever fills,
blocks are dropped and counted, and the listener says so. Capture opens the device
at its own default rate as 16-bit samples (ALSA's converters are not always faithful
to other rates and formats) and the blocks
are resampled to the model's rate with FFmpeg's resampler, which keeps its state
across blocks (no clicks at block edges).

sounddevice comes from audio/portaudio.py, only when capturing or listing devices.
"""

from __future__ import annotations

import queue
import threading

from ..errors import AudioError
from .portaudio import quiet_native_stderr, sounddevice
from .resampling import StreamResampler

QUEUE_SECONDS = 300  # audio the queue holds before it drops
FIRST_AUDIO_SECONDS = 10  # a device that has delivered nothing by then is not working


def list_devices() -> list[dict]:
    """Every device: index, name, input/output channels, default rate, and which are the defaults."""
    sd = sounddevice()
    try:
        with quiet_native_stderr():
            devices = sd.query_devices()
        default_in, default_out = sd.default.device
    except Exception as e:  # noqa: BLE001  (PortAudio reports anything as PortAudioError)
        raise AudioError(f"Cannot list audio devices: {e}") from None
    return [
        {
            "index": i,
            "name": d["name"],
            "input_channels": d["max_input_channels"],
            "output_channels": d["max_output_channels"],
            "default_samplerate": d["default_samplerate"],
            "default_input": i == default_in,
            "default_output": i == default_out,
        }
        for i, d in enumerate(devices)
    ]


def find_input(device: str | int | None) -> dict:
    """The input device for --device (a name, part of one, or an index); the default when None."""
    inputs = [d for d in list_devices() if d["input_channels"] > 0]
    if not inputs:
        raise AudioError("No input device found: connect a microphone (see `llm audio devices`)")
    if device is None:
        chosen = next((d for d in inputs if d["default_input"]), inputs[0])
    else:
        chosen = _match(inputs, device, "input")
    return {"index": chosen["index"], "name": chosen["name"], "rate": int(chosen["default_samplerate"])}


def find_output(device: str | int | None) -> int | None:
    """The output device index for --output-device; None (PortAudio's default) when not given."""
    if device is None:
        return None
    return _match([d for d in list_devices() if d["output_channels"] > 0], device, "output")["index"]


def _match(devices: list[dict], device: str | int, role: str) -> dict:
    """The device an index, an exact name or part of a name means; one line naming them if none."""
    wanted = str(device)
    for test in (
        lambda d: wanted.isdigit() and d["index"] == int(wanted),
        lambda d: d["name"] == wanted,
        lambda d: wanted.lower() in d["name"].lower(),
    ):
        found = [d for d in devices if test(d)]
        if found:
            return found[0]
    names = ", ".join(f"{d['index']}: {d['name']}" for d in devices) or "none"
    raise AudioError(f"No {role} device '{device}'; {role}s are {names} (see `llm audio devices`)")


class Microphone:
    """Capture from one input device; ``blocks()`` yields mono float32 at ``rate``.

    Use as a context manager; ``stop()`` (from any thread) ends ``blocks()`` after the
    audio already captured.
    """

    def __init__(self, device: dict, rate: int = 16000, block_seconds: float = 0.1):
        self.device = device
        self.rate = rate
        self.device_rate = device["rate"]
        self._block = max(1, int(self.device_rate * block_seconds))
        self._queue: queue.Queue = queue.Queue(maxsize=max(8, int(QUEUE_SECONDS / block_seconds)))
        self._stopped = threading.Event()
        self._flowing = threading.Event()
        self.dropped_blocks = 0
        #: While True the callback throws input away (half-duplex: our own voice is playing).
        self.muted = False
        self._stream = None
        self._resample = StreamResampler(self.device_rate, rate)

    def __enter__(self):
        sd = sounddevice()
        try:
            with quiet_native_stderr():
                self._open(sd)
        except Exception as e:  # noqa: BLE001
            raise AudioError(f"Cannot open the input device '{self.device['name']}': {_reason(e)}") from None
        # Some stacks (ALSA's pulse plugin) take a while to deliver the first block: return once
        # audio flows, so that whoever says "listening" is telling the truth.
        if not self._flowing.wait(FIRST_AUDIO_SECONDS):
            self.__exit__(None, None, None)
            raise AudioError(
                f"The input device '{self.device['name']}' opened but delivers no audio; "
                "try another --device (see `llm audio devices`)"
            )
        return self

    def _open(self, sd):
        self._stream = sd.InputStream(
            device=self.device["index"],
            samplerate=self.device_rate,
            channels=1,
            dtype="int16",  # every device has it; float32 through ALSA's plug is not faithful
            blocksize=self._block,
            latency="low",  # a live listener wants the audio as soon as it is spoken
            callback=self._callback,
        )
        self._stream.start()

    def __exit__(self, *exc_info):
        self.stop()
        if self._stream is not None:
            try:
                self._stream.abort()
                self._stream.close()
            except Exception:  # noqa: BLE001  (closing a stream that already failed)
                pass

    def stop(self) -> None:
        self._stopped.set()

    def _callback(self, data, frames, time_info, status):
        self._flowing.set()
        if self.muted:
            return
        try:
            self._queue.put_nowait(data[:, 0].astype("float32") / 32768.0)
        except queue.Full:
            self.dropped_blocks += 1

    def blocks(self):
        """Captured audio at self.rate, block by block, until stop() (then what is queued)."""
        while True:
            try:
                block = self._queue.get(timeout=0.05)
            except queue.Empty:
                if self._stopped.is_set():
                    break
                if self._stream is not None and not self._stream.active:
                    raise AudioError(
                        f"The input device '{self.device['name']}' stopped delivering audio "
                        "(unplugged, or taken by another program?)"
                    ) from None
                continue
            out = self._resample(block)
            if len(out):
                yield out
        tail = self._resample(None)
        if len(tail):
            yield tail

    def available(self):
        """The blocks captured so far, without waiting for more."""
        while True:
            try:
                block = self._queue.get_nowait()
            except queue.Empty:
                return
            out = self._resample(block)
            if len(out):
                yield out


def _reason(error: Exception) -> str:
    """PortAudio's message without its error-code decoration."""
    text = str(error)
    for prefix in ("Error opening InputStream: ", "Error starting stream: "):
        text = text.removeprefix(prefix)
    return text
