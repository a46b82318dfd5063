"""A private PulseAudio with two null sinks: a microphone and a speaker that run in real time.

ALSA's file plugin (test_listen.py) has no clock; what depends on time (half-duplex,
barge-in, latency) needs this. `play()` into the sink `micsink` is someone speaking
into the microphone (the source `mic`, at the pace of a real clock); `Recorder` on the
monitor of the sink `spk` hears what our commands play. `echo_room()` joins the
speaker to the microphone, as a laptop's speakers reach its microphone.

PortAudio reaches it through ALSA's pulse plugin (libasound2-plugins), configured for
the subprocess only (ALSA_CONFIG_PATH). Tests only: nothing in the package knows of it.
The daemon lives in a private XDG_RUNTIME_DIR and ends with the fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HAVE_PULSEAUDIO = all(shutil.which(tool) for tool in ("pulseaudio", "pactl", "paplay", "parec")) and any(
    Path(folder, "libasound_module_pcm_pulse.so").exists()
    for folder in ("/usr/lib/x86_64-linux-gnu/alsa-lib", "/usr/lib/aarch64-linux-gnu/alsa-lib")
)
STOCK_ALSA = "/usr/share/alsa/alsa.conf"
RECORD_RATE = 16000


class PrivatePulse:
    """Start with ``with PrivatePulse() as pulse``; ``pulse.env`` is for the commands under test."""

    def __enter__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="pulse-"))
        self.folder.chmod(0o700)
        config = self.folder / "alsa-pulse.conf"
        config.write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
        self.env = {
            "XDG_RUNTIME_DIR": str(self.folder),
            "PULSE_RUNTIME_PATH": str(self.folder / "pulse"),
            "ALSA_CONFIG_PATH": f"{STOCK_ALSA}:{config}",
        }
        subprocess.run(
            [
                "pulseaudio",
                "--daemonize=yes",
                "--exit-idle-time=-1",
                "--system=false",
                "-n",
                "--load=module-native-protocol-unix",
                "--load=module-null-sink sink_name=spk",
                "--load=module-null-sink sink_name=micsink",
                "--load=module-remap-source source_name=mic master=micsink.monitor",
            ],
            env=self._env(),
            capture_output=True,
            check=True,
            timeout=30,
        )
        deadline = time.monotonic() + 10
        while self.pactl("info", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("PulseAudio did not start")
            time.sleep(0.1)
        self.pactl("set-default-source", "mic")
        self.pactl("set-default-sink", "spk")
        return self

    def __exit__(self, *exc_info):
        self.pactl("exit", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _env(self):
        return {**os.environ, **self.env}

    def pactl(self, *args, check=True):
        return subprocess.run(["pactl", *args], env=self._env(), capture_output=True, check=check, timeout=30)

    def echo_room(self) -> str:
        """Whatever the speaker plays reaches the microphone; returns the module to unload."""
        module = self.pactl(
            "load-module", "module-loopback", "source=spk.monitor", "sink=micsink", "latency_msec=60"
        )
        return module.stdout.decode().strip()

    def play(self, wav_path) -> subprocess.Popen:
        """Say a wav file into the microphone, in real time (returns at once)."""
        return subprocess.Popen(
            ["paplay", "--device=micsink", "--latency-msec=30", str(wav_path)],
            env=self._env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def recorder(self) -> Recorder:
        return Recorder(self)


class Recorder:
    """What the speaker plays, as 16 kHz mono, with the wall-clock time of its first sample."""

    def __init__(self, pulse: PrivatePulse):
        self._process = subprocess.Popen(
            ["parec", "--device=spk.monitor", "--format=s16le", f"--rate={RECORD_RATE}", "--channels=1"]
            + ["--latency-msec=20"],  # parec's default waits about a second per delivery
            env=pulse._env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._chunks: list[bytes] = []
        self.started: float | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while True:
            chunk = self._process.stdout.read1(3200)
            if not chunk:
                return
            if self.started is None:  # the first block's arrival, less its own length
                self.started = time.monotonic() - len(chunk) / 2 / RECORD_RATE
            self._chunks.append(chunk)

    def samples(self) -> np.ndarray:
        return np.frombuffer(b"".join(self._chunks), "<i2").astype(np.float32) / 32768

    def stop(self) -> np.ndarray:
        self._process.terminate()
        self._process.wait(10)
        self._thread.join(10)
        return self.samples()


def sounding(samples: np.ndarray, rate: int = RECORD_RATE, floor: float = 0.01, hop: float = 0.02):
    """(start, end) seconds of each stretch of sound, joining gaps shorter than 0.5 s."""
    size = int(rate * hop)
    frames = len(samples) // size
    loud = np.abs(samples[: frames * size]).reshape(frames, size).max(axis=1) > floor
    spans, start, quiet = [], None, 0
    for i, on in enumerate(loud):
        if on:
            start = i if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * hop >= 0.5:
                spans.append((start * hop, (i - quiet + 1) * hop))
                start, quiet = None, 0
    if start is not None:
        spans.append((start * hop, (frames - quiet) * hop))
    return spans
