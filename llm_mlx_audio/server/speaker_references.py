"""OpenAI's known_speaker_references[]: clips of each named speaker's voice, as data URLs.

OpenAI's diarizing model takes ``known_speaker_names[]`` with, for each name, a clip of
that person's voice (2 to 10 s, ``data:audio/wav;base64,...``) and names the speakers it
hears by those voices. Here each clip becomes a voice vector (registry.voice_vectors:
the same encoder that diarizes), and the diarized speakers are matched to the names by
voice (speakers/matching.py), not by order. Every way a clip can be wrong is a 400 that
names the field: not a data URL, not base64, not audio, too short or too long, no
speech, or a different count of names and clips.
"""

from __future__ import annotations

import base64
import binascii
import re

from ..errors import AudioError, AudioTooLongError
from .errors import ApiError

FIELD = "known_speaker_references[]"
MIN_SECONDS, MAX_SECONDS = 2.0, 10.0
#: A form field holding one clip may be this long (10 s of 48 kHz stereo 16-bit wav, in base64).
MAX_REFERENCE_BYTES = 3 * 1024 * 1024
RATE = 16000
_DATA_URL = re.compile(r"data:(audio/[\w.+-]+|application/octet-stream)?(;[^,;]+=[^,;]*)*;base64,(.*)", re.S)


def decode(names: list[str], references: list[str]) -> list:
    """The references' audio as 16 kHz samples, one per name; ApiError(400) naming the field."""
    from ..audio.decode import decode_audio

    if len(references) != len(names):
        raise _bad(
            f"{len(references)} known_speaker_references were given for {len(names)} "
            "known_speaker_names: give one clip per name"
        )
    clips = []
    for k, reference in enumerate(references):
        found = _DATA_URL.fullmatch(reference.strip())
        if found is None:
            raise _bad(f"known_speaker_references[{k}] is not a data URL (data:audio/wav;base64,...)")
        try:
            data = base64.b64decode(found.group(3), validate=True)
        except (binascii.Error, ValueError):
            raise _bad(f"known_speaker_references[{k}] is not valid base64") from None
        try:
            samples = decode_audio(data, RATE, max_seconds=MAX_SECONDS + 1)
        except AudioTooLongError:
            raise _bad(f"known_speaker_references[{k}] is longer than {MAX_SECONDS:g} s") from None
        except AudioError as error:
            raise _bad(f"known_speaker_references[{k}] cannot be decoded: {error}") from None
        seconds = len(samples) / RATE
        if not MIN_SECONDS <= seconds <= MAX_SECONDS:
            raise _bad(
                f"known_speaker_references[{k}] is {seconds:.1f} s long; "
                f"a clip must be {MIN_SECONDS:g} to {MAX_SECONDS:g} s"
            )
        clips.append(samples)
    return clips


def voices(names: list[str], references: list[str]) -> dict:
    """{name: unit voice vector} of the references; a clip without speech is a 400."""
    from .. import registry

    found = registry.voice_vectors(decode(names, references))
    for k, (vector, _) in enumerate(found):
        if vector is None:
            raise _bad(f"known_speaker_references[{k}] holds no speech")
    return {name: vector for name, (vector, _) in zip(names, found, strict=True)}


def _bad(message: str) -> ApiError:
    return ApiError(400, message, param=FIELD, code="invalid_speaker_reference")


def name_speakers(transcript, names: list[str], known: dict | None, enrolled: bool):
    """Names on the diarized transcript: by the references' voices when given (names
    without a matching voice name nobody); else enrolled voices (when enrolled), then
    known_speaker_names in order of appearance for the speakers still unnamed."""
    from ..speakers import rename
    from ..speakers.matching import name_by_voice, name_enrolled

    if known:
        return name_by_voice(transcript, known)
    if enrolled:
        name_enrolled(transcript)
    if names:
        rename(transcript, names)
    return transcript
