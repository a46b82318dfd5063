"""The diarization error rate used to score diarization (tests/der.py), on cases worked by hand."""

import pytest
from der import der

REFERENCE = [(0.0, 10.0, "ana"), (10.0, 20.0, "ben")]


def test_a_perfect_hypothesis_scores_zero_whatever_its_labels():
    assert der(REFERENCE, [(0.0, 10.0, "B"), (10.0, 20.0, "A")])["der"] == 0.0


def test_one_speaker_for_everything_confuses_the_other_half():
    # scored: 0.25-9.75 and 10.25-19.75 (collars at 0, 10 and 20); ben's 9.5 s are confused
    result = der(REFERENCE, [(0.0, 20.0, "A")])
    assert result["confusion"] == pytest.approx(9.5)
    assert result["der"] == pytest.approx(0.5)


def test_silence_where_there_was_speech_is_missed_and_speech_in_silence_is_a_false_alarm():
    result = der([(0.0, 10.0, "ana")], [(5.0, 15.0, "A")])
    assert result["missed"] == pytest.approx(4.75)  # 0.25-5.0
    assert result["false_alarm"] == pytest.approx(4.75)  # 10.25-15.0
    assert result["der"] == pytest.approx(9.5 / 9.5)


def test_the_collar_forgives_small_errors_at_boundaries():
    late = [(0.2, 10.2, "A"), (10.2, 20.0, "B")]
    assert der(REFERENCE, late)["der"] == 0.0
    assert der(REFERENCE, late, collar=0.0)["der"] == pytest.approx(0.4 / 20.0)


def test_an_extra_hypothesis_speaker_counts_as_confusion():
    result = der(REFERENCE, [(0.0, 10.0, "A"), (10.0, 15.0, "B"), (15.0, 20.0, "C")])
    assert result["confusion"] == pytest.approx(4.75)  # 15.25-19.75 goes to an unmapped speaker
