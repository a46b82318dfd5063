"""Who spoke when, scored on conversations of clearly different voices with known turns.

The conversations (tests/conversations.py) mix espeak-ng's and the embedded Kokoro's
male and female voices, turns of 1 to 15 s and pauses of 0 to 2 s. The targets are
the issue's: diarization error rate (0.25 s collar) under 10% with two speakers and
under 15% with three, and the number of speakers right in at least 90% of them.
"""

import numpy as np
import pytest
from conversations import THREE_SPEAKER_SETS, TWO_SPEAKER_SETS, conversation
from der import der
from spoken_clips import HAVE_ESPEAK

from llm_mlx_audio.audio import speaker_clustering
from llm_mlx_audio.engine import diarization, embedded, long_form
from llm_mlx_audio.engine.thread import get_mlx_thread

pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("kokoro-82m")),
    reason="espeak-ng or the offline models missing",
)
SEEDS = range(3)


@pytest.fixture(scope="module")
def user(shared_user_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        embedded.ensure_embedded("kokoro-82m")
        yield shared_user_dir


def diarize(samples, speakers=None):
    thread = get_mlx_thread()
    with long_form.vad_model() as vad, diarization.speaker_model() as encoder:
        probabilities, total = long_form._speech_probabilities(thread, vad, [samples])
        turns = diarization.diarize([samples], probabilities, total, encoder, speakers)
    return [(t.start, t.end, t.speaker) for t in turns]


@pytest.fixture(scope="module")
def scored(user):
    """{n: [(der, speakers found)]} over every conversation of n speakers."""
    results = {2: [], 3: []}
    for n, sets, turns in ((2, TWO_SPEAKER_SETS, 10), (3, THREE_SPEAKER_SETS, 12)):
        for voices in sets:
            for seed in SEEDS:
                samples, reference = conversation(voices, seed, turns=turns)
                hypothesis = diarize(samples)
                results[n].append((der(reference, hypothesis)["der"], len({s for _, _, s in hypothesis})))
    return results


@pytest.mark.stock_path
def test_two_espeak_voices_are_told_apart_on_every_path(user):
    """The stock lane's DER check (Kokoro-voiced conversations would take minutes to
    make on mlx-audio's own code): espeak-ng's two voices, two conversations."""
    for seed in (0, 1):
        samples, reference = conversation(TWO_SPEAKER_SETS[0], seed, turns=8)
        hypothesis = diarize(samples)
        assert der(reference, hypothesis)["der"] < 0.10
        assert len({s for _, _, s in hypothesis}) == 2


def test_two_speakers_are_told_apart(scored):
    rates = [rate for rate, _ in scored[2]]
    assert np.mean(rates) < 0.10, rates


def test_three_speakers_are_told_apart(scored):
    rates = [rate for rate, _ in scored[3]]
    assert np.mean(rates) < 0.15, rates


def test_the_number_of_speakers_is_estimated_right(scored):
    found = [count == n for n in (2, 3) for _, count in scored[n]]
    assert sum(found) >= 0.9 * len(found), scored


def test_a_given_number_of_speakers_is_kept_to(user):
    samples, _ = conversation(THREE_SPEAKER_SETS[0], seed=7, turns=8)
    assert len({s for _, _, s in diarize(samples, speakers=2)}) == 2
    assert len({s for _, _, s in diarize(samples, speakers=3)}) == 3


def test_speakers_are_numbered_by_first_appearance(user):
    samples, _ = conversation(TWO_SPEAKER_SETS[1], seed=3, turns=6)
    turns = diarize(samples)
    assert turns[0][2] == 0
    firsts = [next(i for i, t in enumerate(turns) if t[2] == s) for s in sorted({t[2] for t in turns})]
    assert firsts == sorted(firsts)


def test_silence_has_no_speakers(user):
    assert diarize(np.zeros(16000 * 5, np.float32)) == []


def test_an_hours_windows_cluster_in_linear_memory():
    # 7200 windows (an hour at one every 0.5 s) of two voices: no 7200 x 7200 matrix
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((2, 256))
    truth = np.repeat([0, 1, 0, 1], 1800)
    vectors = centres[truth] + 0.6 * rng.standard_normal((len(truth), 256))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    import tracemalloc

    tracemalloc.start()
    labels = speaker_clustering.cluster(vectors)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2**20, peak  # all 7200 at once: 7200 x 7199 / 2 distances = 207 MB
    assert len(labels) == len(truth) and len(set(labels)) == 2
    assert np.mean(labels == truth) > 0.99 or np.mean(labels != truth) > 0.99


def test_long_recordings_cluster_a_sample_and_keep_the_threshold(user, monkeypatch):
    # what an hour does (more windows than are clustered at once), on a short conversation
    samples, reference = conversation(TWO_SPEAKER_SETS[0], seed=11, turns=10)
    monkeypatch.setattr(speaker_clustering, "MAX_DIRECT", 15)
    hypothesis = diarize(samples)
    assert len({s for _, _, s in hypothesis}) == 2
    assert der(reference, hypothesis)["der"] < 0.10
