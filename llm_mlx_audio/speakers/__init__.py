"""Speakers on a transcript: turns put on words (``labels``), voices enrolled once and
recognised in later recordings (``enrolled``, ``matching``).

The labelling API (parse_names, check_names, label, rename) is the one `llm transcribe
--diarize` and the server have always used; it lives in ``labels``.
"""

from .labels import MIN_SEGMENT_SECONDS, SNAP_SECONDS, check_names, label, parse_names, relabel, rename

__all__ = [
    "MIN_SEGMENT_SECONDS",
    "SNAP_SECONDS",
    "check_names",
    "label",
    "parse_names",
    "relabel",
    "rename",
]
