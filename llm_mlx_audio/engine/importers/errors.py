"""The one error every importer raises for a folder it cannot convert.

Importers read formats written by other tools (CTranslate2, ONNX, ...). When the
folder is incomplete, of another kind, or uses a variant the importer does not
handle, the user needs one line saying which file or what is wrong, not a
traceback from deep inside a parser. It is a ValueError (bad input, not a bug)
and an AudioError, so the CLI prints it as one line and exits non-zero.
"""

from ...errors import AudioError


class ImportFormatError(AudioError, ValueError):
    """A model folder is missing files or is not in the format the importer reads."""
