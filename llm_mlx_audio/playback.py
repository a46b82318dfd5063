"""Playing speech through the default output device.

sounddevice is imported here and only here, when playing: importing it raises
OSError on a machine without PortAudio, which must never break other commands.
"""

from .errors import AudioError

_INSTALL_HINT = (
    "install PortAudio (macOS: brew install portaudio; Debian/Ubuntu: apt install libportaudio2)"
)


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
