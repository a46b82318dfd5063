"""Who spoke when: the speaker encoder over the VAD's speech, clustered into speakers.

The third pass of a diarized transcription (``long_form``): the VAD's scores, already
computed, give finer speech regions than transcription uses (pauses from 0.25 s
split them, so windows rarely hold silence), the encoder (GE2E, on the MLX thread,
through the pool) turns windows of 1.5 s into vectors, a batch at a time while the
recording streams, and ``audio/speaker_clustering`` groups them. Only the vectors are
kept (1 KB a window): an hour of speech is a few MB.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..audio.speaker_clustering import cluster
from ..audio.speaker_turns import Turn, embedding_windows, turns
from ..audio.speech_regions import VadOptions, speech_regions
from . import embedded, loading, speaker_encoder
from .pool import estimate_size, get_pool
from .thread import get_mlx_thread

#: Speech regions for the encoder: short pauses count, little padding.
SPEAKER_VAD = VadOptions(min_silence_ms=250, pad_ms=50)
BATCH = 64  # windows per encoder job on the MLX thread


@contextlib.contextmanager
def speaker_model() -> Iterator[object]:
    """The speaker encoder (shipped with the plugin) from the pool."""
    path = embedded.ensure_speaker_encoder()
    with get_pool().use(
        str(path.resolve()),
        lambda: loading.load(path, "speaker", "ge2e-speaker-encoder"),
        estimate_size(path),
    ) as loaded:
        yield loaded.model


def diarize(pieces, probabilities, total: int, encoder, speakers: int | None = None) -> list[Turn]:
    """Speaker turns of the audio that pieces yields, given the VAD's scores of it."""
    return diarize_with_vectors(pieces, probabilities, total, encoder, speakers)[0]


def diarize_with_vectors(pieces, probabilities, total: int, encoder, speakers: int | None = None):
    """(turns, {turn speaker: (mean unit vector, windows)}): the turns, and each speaker's voice
    (the mean of the windows whose centre lies in its turns), for naming enrolled voices."""
    regions = speech_regions(probabilities, total, SPEAKER_VAD)
    windows = embedding_windows(regions)
    if not windows:
        return [], {}
    vectors = window_vectors(pieces, windows, encoder)
    found = turns(regions, windows, cluster(vectors, speakers=speakers))
    return found, speaker_means(found, windows, vectors)


def window_vectors(pieces, windows, encoder):
    """(len(windows), 256) encoder vectors of the (start, end) sample windows of pieces' audio."""
    import numpy as np

    thread = get_mlx_thread()
    vectors = []
    batch = []
    for audio in _ranges_audio(pieces, windows):
        batch.append(audio)
        if len(batch) == BATCH:
            vectors.append(thread.run(speaker_encoder.embed, encoder, batch))
            batch = []
    if batch:
        vectors.append(thread.run(speaker_encoder.embed, encoder, batch))
    return np.concatenate(vectors)


def speaker_means(found: list[Turn], windows, vectors, rate: int = 16000) -> dict:
    """{speaker: (unit mean vector, windows)} over the windows whose centre is in that speaker's turns."""
    import numpy as np

    if not found:
        return {}
    starts = np.array([t.start for t in found])
    centres = np.array([(start + end) / 2 / rate for start, end in windows])
    at = np.maximum(np.searchsorted(starts, centres, side="right") - 1, 0)
    inside = centres <= np.array([found[k].end for k in at])
    owner = np.array([found[k].speaker for k in at])
    means = {}
    for speaker in sorted(set(owner[inside].tolist())):
        chosen = vectors[inside & (owner == speaker)]
        total = chosen.astype(np.float64).sum(axis=0)
        means[speaker] = (total / max(float(np.linalg.norm(total)), 1e-12), len(chosen))
    return means


def _ranges_audio(pieces, ranges):
    """The audio of each (start, end) sample range, in order (ranges may overlap)."""
    import numpy as np

    pieces = iter(pieces)
    buffer, start = np.zeros(0, np.float32), 0
    for k, (first, last) in enumerate(ranges):
        while start + len(buffer) < last:
            piece = next(pieces, None)
            if piece is None:
                break
            buffer = np.concatenate([buffer, piece])
        yield np.array(buffer[max(first - start, 0) : last - start], np.float32)
        # Drop what no later range needs, but never past what has been read: the next
        # range may start after a pause that is still in pieces not yet read.
        keep = min(ranges[k + 1][0] if k + 1 < len(ranges) else last, start + len(buffer))
        if keep > start:
            buffer, start = buffer[keep - start :], keep
