"""Where the speaker encoder looks, the turns it implies, and cutting its windows from pieces."""

import numpy as np

from llm_mlx_audio.audio.speaker_turns import Turn, embedding_windows, turns
from llm_mlx_audio.engine.diarization import _ranges_audio

RATE = 16000


def test_windows_step_through_each_region_and_end_with_it():
    windows = embedding_windows([(0, 3 * RATE), (5 * RATE, 6 * RATE), (8 * RATE, 8 * RATE + 1000)])
    assert windows[:3] == [(0, 24000), (8000, 32000), (16000, 40000)]
    assert windows[3] == (24000, 48000)  # the last one ends with the region
    assert windows[4] == (5 * RATE, 6 * RATE)  # a short region is one window of its own
    assert len(windows) == 5  # under 0.4 s: no window


def test_a_change_of_speaker_falls_between_window_centres():
    regions = [(0, 4 * RATE)]
    windows = embedding_windows(regions)  # centres 0.75, 1.25, 1.75, 2.25, 2.75, 3.25
    result = turns(regions, windows, [5, 5, 5, 9, 9, 9])
    assert result == [Turn(0.0, 2.0, 0), Turn(2.0, 4.0, 1)]


def test_a_blip_inside_one_speakers_speech_is_absorbed():
    regions = [(0, 6 * RATE)]
    windows = embedding_windows(regions)
    labels = [0] * len(windows)
    labels[5] = 1  # one window of 0.5 s
    assert turns(regions, windows, labels) == [Turn(0.0, 6.0, 0)]


def test_windows_are_cut_from_pieces_exactly_even_across_long_pauses():
    rng = np.random.default_rng(0)
    samples = rng.standard_normal(10 * RATE).astype(np.float32)
    ranges = [(100, 24100), (8100, 32100), (9 * RATE, 9 * RATE + 8000)]  # a pause longer than a piece
    edges = [0, 7000, 30000, 50000, 90000, 120000, 10 * RATE]
    pieces = [samples[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    for got, (first, last) in zip(_ranges_audio(iter(pieces), ranges), ranges, strict=True):
        np.testing.assert_array_equal(got, samples[first:last])
