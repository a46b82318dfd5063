"""From speech probabilities to regions and windows, and times back to the recording's clock."""

import numpy as np
import pytest

from llm_mlx_audio.audio.speech_regions import (
    CHUNK,
    VadOptions,
    Window,
    fixed_windows,
    pack_windows,
    speech_regions,
)

RATE = 16000


def probabilities(*spans, seconds=60.0):
    """0.9 inside the (start, end) second spans, 0.05 elsewhere, one value per 32 ms."""
    times = np.arange(int(seconds * RATE / CHUNK)) * CHUNK / RATE
    p = np.full(len(times), 0.05, np.float32)
    for start, end in spans:
        p[(times >= start) & (times < end)] = 0.9
    return p, int(seconds * RATE)


def seconds(regions):
    return [(round(s / RATE, 2), round(e / RATE, 2)) for s, e in regions]


def test_speech_is_padded_and_silence_is_dropped():
    p, total = probabilities((10, 12), (40, 45))
    found = seconds(speech_regions(p, total))
    expected = [(9.6, 12.4), (39.6, 45.4)]  # 0.4 s of padding, to within one 32-ms chunk
    assert np.allclose(found, expected, atol=CHUNK / RATE), found


def test_pauses_shorter_than_min_silence_stay_inside_one_region():
    p, total = probabilities((10, 12), (13, 15))
    assert len(speech_regions(p, total)) == 1
    assert len(speech_regions(p, total, VadOptions(min_silence_ms=500))) == 2


def test_a_blip_shorter_than_min_speech_is_not_speech():
    p, total = probabilities((10, 10.1))
    assert speech_regions(p, total) == []


def test_nothing_above_the_threshold_is_no_speech():
    p, total = probabilities()
    assert speech_regions(p, total) == []
    assert speech_regions(np.full(100, 0.4), 100 * CHUNK) == []
    assert speech_regions(np.full(100, 0.4), 100 * CHUNK, VadOptions(threshold=0.3)) != []


def test_long_speech_is_split_before_thirty_seconds():
    p, total = probabilities((0, 70), seconds=80)
    regions = speech_regions(p, total)
    assert len(regions) >= 3
    assert all((e - s) / RATE <= 30 for s, e in regions)


def test_windows_hold_at_most_thirty_seconds_of_regions_in_order():
    regions = [(i * 10 * RATE, (i * 10 + 6) * RATE) for i in range(12)]  # 6 s of speech every 10 s
    windows = pack_windows(regions)
    assert [len(w.regions) for w in windows] == [5, 5, 2]
    assert all(w.samples <= 30 * RATE for w in windows)
    assert [r for w in windows for r in w.regions] == regions


def test_window_times_map_back_across_cut_pauses():
    window = Window([(10 * RATE, 12 * RATE), (40 * RATE, 45 * RATE)])
    assert window.seams() == [2.0]
    assert window.to_original(0.5) == 10.5
    assert window.to_original(2.5) == 40.5
    assert window.to_original(2.0) == 40.0  # a start on the seam starts the next region
    assert window.to_original(2.0, is_end=True) == 12.0  # an end on it ends the first
    assert window.to_original(99) == 45.0  # never past the window


def test_span_snaps_small_overhangs_at_a_seam():
    window = Window([(10 * RATE, 12 * RATE), (40 * RATE, 45 * RATE)])
    assert window.span(1.9, 4.0) == (40.0, 42.0)  # started 0.1 s before the seam: next region
    assert window.span(0.5, 2.2) == (10.5, 12.0)  # ended 0.2 s after it: back to the seam
    assert window.span(0.5, 4.0) == (10.5, 42.0)  # really on both sides: kept


def test_fixed_windows_cover_the_recording():
    windows = fixed_windows(65 * RATE)
    assert [w.regions for w in windows] == [
        [(0, 30 * RATE)],
        [(30 * RATE, 60 * RATE)],
        [(60 * RATE, 65 * RATE)],
    ]


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_regions_never_overlap_and_stay_inside_the_recording(threshold):
    rng = np.random.default_rng(int(threshold * 10))
    p = rng.random(5000).astype(np.float32)
    total = 5000 * CHUNK - 100
    regions = speech_regions(p, total, VadOptions(threshold=threshold, min_silence_ms=100))
    flat = [x for r in regions for x in r]
    assert flat == sorted(flat) and flat[0] >= 0 and flat[-1] <= total
