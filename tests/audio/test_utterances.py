"""Live utterance cutting: probabilities in as they come, finished utterances out."""

import numpy as np

from llm_mlx_audio.audio.utterances import CHUNK, UtteranceCutter

RATE = 16000
PER_SECOND = RATE / CHUNK  # 31.25 probabilities a second


def probabilities(*spans, seconds):
    times = np.arange(int(seconds * PER_SECOND)) / PER_SECOND
    p = np.full(len(times), 0.02)
    for start, end in spans:
        p[(times >= start) & (times < end)] = 0.95
    return p


def feed_in_pieces(cutter, p, piece=7):
    done = []
    for i in range(0, len(p), piece):
        done += cutter.feed(p[i : i + piece])
    return done


def test_an_utterance_ends_after_the_pause_and_is_padded():
    cutter = UtteranceCutter(end_silence=0.8, pad=0.3)
    done = feed_in_pieces(cutter, probabilities((1.0, 3.0), seconds=3.5))
    assert done == []  # only 0.5 s of silence so far: not over yet
    done = cutter.feed(probabilities(seconds=0.5))
    assert len(done) == 1
    start, end = (x / RATE for x in done[0])
    assert abs(start - 0.7) < 0.04 and abs(end - 3.3) < 0.04


def test_pieces_of_any_size_give_the_same_utterances():
    p = probabilities((1, 2), (4, 6), (8, 8.6), seconds=10)
    whole = UtteranceCutter().feed(p)
    for piece in (1, 5, 33):
        assert feed_in_pieces(UtteranceCutter(), p, piece) == whole
    assert len(whole) == 3


def test_a_short_blip_is_not_an_utterance():
    cutter = UtteranceCutter(min_speech=0.25)
    assert cutter.feed(probabilities((1, 1.1), seconds=3)) == []


def test_flush_ends_the_utterance_in_progress():
    cutter = UtteranceCutter()
    assert cutter.feed(probabilities((1, 5), seconds=5)) == []
    ((start, end),) = cutter.flush()
    assert abs(start / RATE - 0.7) < 0.04 and end == cutter.position * CHUNK
    assert cutter.flush() == []


def test_silence_is_counted_only_after_speech():
    cutter = UtteranceCutter()
    cutter.feed(probabilities(seconds=5))
    assert not cutter.heard_speech and cutter.silence_seconds() == 0
    cutter.feed(probabilities((0, 1), seconds=3))
    assert cutter.heard_speech and abs(cutter.silence_seconds() - 2.0) < 0.05


def test_a_monologue_is_cut_at_the_maximum_length():
    cutter = UtteranceCutter(max_seconds=10)
    done = cutter.feed(probabilities((0, 25), seconds=25))
    assert len(done) == 2
    assert all((end - start) / RATE <= 10.4 for start, end in done)


def test_keep_from_never_drops_audio_an_utterance_may_need():
    cutter = UtteranceCutter(pad=0.3)
    cutter.feed(probabilities((2, 4), seconds=3))
    assert abs(cutter.keep_from() / RATE - 1.7) < 0.04  # inside an utterance: from its padded start
    cutter.feed(probabilities(seconds=2))
    assert abs(cutter.keep_from() / RATE - (cutter.position * CHUNK / RATE - 0.3)) < 1e-6
