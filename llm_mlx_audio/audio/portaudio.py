"""The one way into PortAudio (sounddevice): imported late, and quiet.

Importing sounddevice raises OSError on a machine without PortAudio, which must
never break other commands, so it is imported here and only when a device is used.
PortAudio and ALSA print their own diagnostics straight to file descriptor 2 (on many
Linux machines `ALSA lib ... Unknown PCM` at every start-up, and a screenful of
`Expression ... failed` when a device will not open); while we start, probe or open
a device those are silenced, and the failure reaches the user as one line of ours.
"""

from __future__ import annotations

import contextlib
import os
import sys

from ..errors import AudioError

INSTALL_HINT = "install PortAudio (macOS: brew install portaudio; Debian/Ubuntu: apt install libportaudio2)"


@contextlib.contextmanager
def quiet_native_stderr():
    """Send what C libraries write to fd 2 to /dev/null for the duration; Python's stderr too."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (an embedding host): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def sounddevice(purpose: str = "use audio devices", fix: str = ""):
    """The sounddevice module, or one line that says how to get PortAudio."""
    try:
        with quiet_native_stderr():
            import sounddevice
    except (ImportError, OSError):
        raise AudioError(f"Cannot {purpose}: PortAudio is not available; {INSTALL_HINT}{fix}") from None
    return sounddevice
