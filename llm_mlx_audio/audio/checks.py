"""What decoding and encoding both check: sample rates, and FFmpeg's error class."""

from __future__ import annotations

import operator


def check_rate(sample_rate: int, error_class) -> int:
    """sample_rate as a plain int (numpy integers from a model's config are fine), or error_class."""
    try:
        rate = operator.index(sample_rate)
    except TypeError:
        rate = 0
    if isinstance(sample_rate, bool) or not 0 < rate <= 1_000_000:
        raise error_class(f"sample rate must be a positive whole number of Hz, not {sample_rate!r}")
    return rate


def ffmpeg_error():
    import av

    return av.FFmpegError
