"""Speaker turns put on a transcript: segments split where the voice changes, at sentence ends."""

import pytest

from llm_mlx_audio.audio.speaker_turns import Turn
from llm_mlx_audio.errors import AudioError
from llm_mlx_audio.models import Segment, Transcript, Word
from llm_mlx_audio.speakers import check_names, label, parse_names, rename


def transcript():
    words = [
        Word(0.0, 0.4, " Send"), Word(0.4, 0.8, " the"), Word(0.8, 1.4, " report."),
        Word(1.5, 1.9, " Yes,"), Word(1.9, 2.4, " tomorrow."),
    ]  # fmt: skip
    return Transcript(text="Send the report. Yes, tomorrow.", segments=[Segment(0.0, 2.4, "", words)])


def test_a_change_inside_a_segment_splits_it_at_the_sentence_end():
    # the encoder puts the change 0.3 s late, inside "Yes,"
    labelled = label(transcript(), [Turn(0.0, 1.8, 0), Turn(1.8, 2.4, 1)])
    assert [(s.speaker, s.text) for s in labelled.segments] == [
        ("SPEAKER_1", "Send the report."),
        ("SPEAKER_2", "Yes, tomorrow."),
    ]
    assert labelled.speakers == ["SPEAKER_1", "SPEAKER_2"]
    assert [w.speaker for w in labelled.segments[1].words] == ["SPEAKER_2", "SPEAKER_2"]


def test_labels_follow_first_appearance_and_names_replace_them():
    labelled = label(transcript(), [Turn(0.0, 1.45, 7), Turn(1.45, 2.4, 3)], keep_words=False)
    assert labelled.segments[0].words == []
    renamed = rename(labelled, ["Ana"])
    assert [s.speaker for s in renamed.segments] == ["Ana", "SPEAKER_2"] and renamed.speakers == [
        "Ana",
        "SPEAKER_2",
    ]


def test_names_are_checked():
    assert parse_names(" Ana , Ben ", 2) == ["Ana", "Ben"]
    with pytest.raises(AudioError, match="3 speaker names were given for 2 speakers"):
        check_names(["a", "b", "c"], 2)
    with pytest.raises(AudioError, match="different"):
        check_names(["a", "a"], None)
