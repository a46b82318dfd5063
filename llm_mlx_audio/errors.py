"""Errors a user can act on.

Anything raised as AudioError reaches the terminal as one line on stderr and a
non-zero exit; everything else is a bug and keeps its traceback.
"""


class AudioError(Exception):
    """A problem with the user's input, models or environment, explained in one line."""


class UnknownModelError(AudioError):
    """No speech or transcription model answers to that name."""


class WrongModelKindError(AudioError):
    """The model exists but does a different job (text, vision, codec...)."""


class ModelLoadError(AudioError):
    """The model's files could not be loaded."""


class PoolFullError(AudioError):
    """The model does not fit in the memory budget even after evicting idle models."""
