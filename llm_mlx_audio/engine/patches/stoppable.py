"""Whisper that can stop between its 30-second windows.

A server client that uploads an hour of audio and hangs up must not hold the one MLX
thread for the whole hour. mlx-audio's Whisper decodes a long file window by window
through ``Model.decode``; this class checks before each window whether the job was
asked to stop, and raises JobCancelled if so. The check itself comes from the engine
(``should_stop``, set in engine/inference.py), so this module needs nothing of it.
"""

from __future__ import annotations

from ...errors import JobCancelled

# A callable: True when the job running on the MLX thread must stop. None: never.
should_stop = None


def apply(model) -> int:
    from .swap import swap_class

    swap_class(model, StoppableWhisper)
    return 1


class StoppableWhisper:
    """mlx-audio's Whisper, whose decode of each window first asks whether to go on."""

    def decode(self, mel, options=None, **kwargs):
        if should_stop is not None and should_stop():
            raise JobCancelled("Transcription stopped: whoever asked for it has gone")
        if options is None:
            return super().decode(mel, **kwargs)
        return super().decode(mel, options, **kwargs)
