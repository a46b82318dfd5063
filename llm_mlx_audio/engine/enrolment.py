"""Voice vectors for enrolling a speaker: the encoder over a clip's speech, or one diarized speaker's.

The same path as diarization (engine/diarization.py): the Silero VAD finds the speech
(the speaker regions: pauses from 0.25 s), the GE2E encoder reads 1.5-s windows of it
every 0.5 s on the MLX thread, through the pool. A clip gives the sum of its windows'
unit vectors and how many there were, so several clips (and a later `add` to the same
name) average by window. Silence and noise never reach the encoder, so a clip with a
long pause is not pulled towards "silence".
"""

from __future__ import annotations

from ..audio.speaker_turns import embedding_windows
from ..audio.speech_regions import speech_regions
from ..errors import AudioError
from . import diarization, long_form
from .thread import get_mlx_thread

RATE = 16000


def clip_vectors(sources, max_seconds: float | None = None) -> list:
    """[(windows x 256 unit vectors)] for each source (a path, bytes or 16 kHz samples), speech only."""
    thread = get_mlx_thread()
    found = []
    with long_form.vad_model() as vad_lease, diarization.speaker_model() as encoder:
        for source in sources:
            pieces = _pieces(source, max_seconds)
            probabilities, total = long_form._speech_probabilities(thread, vad_lease, pieces())
            windows = embedding_windows(speech_regions(probabilities, total, diarization.SPEAKER_VAD))
            if not windows:
                found.append(None)
                continue
            found.append(diarization.window_vectors(pieces(), windows, encoder))
    return found


def speaker_vectors(source, speakers: int | None = None) -> dict:
    """{"SPEAKER_n": (unit mean vector, windows)} of a recording, diarized.

    Speakers are numbered by their first speech, as `llm transcribe --diarize` numbers
    them (it numbers by the first word, which is the same speaker unless a speaker's
    first turn held no words).
    """
    thread = get_mlx_thread()
    pieces = _pieces(source)
    with long_form.vad_model() as vad_lease, diarization.speaker_model() as encoder:
        probabilities, total = long_form._speech_probabilities(thread, vad_lease, pieces())
        _, means = diarization.diarize_with_vectors(pieces(), probabilities, total, encoder, speakers)
    if not means:
        raise AudioError("No speech was found in the recording")
    return {f"SPEAKER_{k + 1}": means[k] for k in sorted(means)}


def _pieces(source, max_seconds: float | None = None):
    from .models import _pieces_of

    return _pieces_of(source, RATE, max_seconds)
