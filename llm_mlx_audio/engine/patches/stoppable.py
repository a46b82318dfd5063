"""Whisper that can stop between its windows, encoder passes and decoder steps.

A server client that uploads an hour of audio and hangs up must not hold the one MLX
thread for the whole hour. mlx-audio's Whisper decodes a long file window by window
through ``Model.decode``; batched decoding (engine/batched_whisper.py) runs 8 windows
through the encoder one after another and then through one decoder loop of a few
hundred steps, which takes seconds. So the check comes before each window's decode,
before each encoder pass and before each decoder step: a dropped job stops within
one step's work, and JobCancelled is raised. The check itself comes from the engine
(``should_stop``, set in engine/inference.py), so this module needs nothing of it.
"""

from __future__ import annotations

from ...errors import JobCancelled

# A callable: True when the job running on the MLX thread must stop. None: never.
should_stop = None


def apply(model) -> int:
    from .swap import swap_class

    swap_class(model, StoppableWhisper)
    swap_class(model.encoder, StoppableEncoder)
    swap_class(model.decoder, StoppableDecoder)
    return 3


def stop_if_asked() -> None:
    """Raise JobCancelled if the job running on the MLX thread was asked to stop."""
    if should_stop is not None and should_stop():
        raise JobCancelled("Transcription stopped: whoever asked for it has gone")


class StoppableWhisper:
    """mlx-audio's Whisper, whose decode of each window first asks whether to go on."""

    def decode(self, mel, options=None, **kwargs):
        stop_if_asked()
        if options is None:
            return super().decode(mel, **kwargs)
        return super().decode(mel, options, **kwargs)


class StoppableEncoder:
    """The audio encoder, asking before each pass (one window's, in batched decoding)."""

    def __call__(self, x):
        stop_if_asked()
        return super().__call__(x)


class StoppableDecoder:
    """The text decoder, asking before each step (one token for every window of a batch)."""

    def __call__(self, x, xa, kv_cache=None):
        stop_if_asked()
        return super().__call__(x, xa, kv_cache=kv_cache)
