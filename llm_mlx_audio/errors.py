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


class AudioDecodeError(AudioError, ValueError):
    """Input that holds no audio we can decode: missing, empty, not audio, no audio track, cut short."""


class AudioFormatError(AudioError, ValueError):
    """An output format we do not know, or audio that cannot be encoded in it."""


class ImportFormatError(AudioError, ValueError):
    """A model folder is missing files or is not in the format the importer reads.

    Importers read formats written by other tools (CTranslate2, ONNX, ...); the user
    needs one line saying which file or what is wrong, not a parser's traceback.
    """


class UnknownVoiceError(AudioError, ValueError):
    """The requested voice is not one the model has."""


class G2PUnavailableError(AudioError, ValueError):
    """The offline English G2P's packages are not installed."""


class JobCancelled(AudioError):
    """The work was stopped because whoever asked for it has gone (a client hung up)."""


class AudioTooLongError(AudioError):
    """Decoded audio ran past the length limit the user or the server set.

    Not an AudioDecodeError: the input is fine, only longer than allowed (a server
    answers 413, not 400). Raised while decoding, before the excess is held in memory,
    so a small file that decodes to hours (a decode bomb) costs at most the limit.
    """
