"""The fields of a transcript that the writers read, as Protocols.

The writers (and the subtitle cutter) only read a transcript; ``models.Transcript`` is
what they are given, but naming it here would make ``audio/`` depend on ``models``
while ``models`` calls the writers (``Transcript.to_srt``): a circle. These Protocols
describe the shape instead, so the arrow points one way (models -> audio), and any
object of that shape (speech captions built from a TTS model's durations, a third
party's transcript) can be written as text, json, srt or vtt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class WordFields(Protocol):
    """One timed word (Whisper's word text keeps its leading space)."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def word(self) -> str: ...
    @property
    def speaker(self) -> str | None: ...


class SegmentFields(Protocol):
    """A timed stretch of text, with its words when they were timed."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...
    @property
    def words(self) -> Sequence[WordFields]: ...
    @property
    def speaker(self) -> str | None: ...


class TranscriptFields(Protocol):
    """What a writer needs of a transcript (``models.Transcript`` has all of it)."""

    @property
    def text(self) -> str: ...
    @property
    def language(self) -> str | None: ...
    @property
    def duration(self) -> float | None: ...
    @property
    def segments(self) -> Sequence[SegmentFields]: ...
    @property
    def has_timestamps(self) -> bool: ...
    @property
    def speakers(self) -> Sequence[str]: ...
