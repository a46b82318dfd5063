"""Transcript formats: OpenAI's set, valid subtitles that never repeat or overlap."""

import json
import re

import pytest

from llm_mlx_audio.audio.writers import format_transcript
from llm_mlx_audio.errors import AudioError
from llm_mlx_audio.models import Segment, Transcript, Word


@pytest.fixture
def transcript():
    return Transcript(
        text="Hello there. General Kenobi.",
        language="en",
        duration=4.25,
        segments=[
            Segment(0.0, 1.5, " Hello there.", [Word(0.0, 0.6, " Hello"), Word(0.6, 1.5, " there.")]),
            Segment(1.4, 3.9, " General Kenobi.", [Word(1.4, 2.5, " General"), Word(2.5, 3.9, " Kenobi.")]),
        ],
    )


def test_text_is_the_plain_transcript(transcript):
    assert format_transcript(transcript, "text") == "Hello there. General Kenobi.\n"


def test_json_has_text_language_and_timed_segments(transcript):
    data = json.loads(format_transcript(transcript, "json"))
    assert data["text"] == transcript.text
    assert data["language"] == "en"
    assert [(s["start"], s["end"], s["text"]) for s in data["segments"]] == [
        (0.0, 1.5, "Hello there."),
        (1.4, 3.9, "General Kenobi."),
    ]


def test_verbose_json_carries_words(transcript):
    data = json.loads(format_transcript(transcript, "verbose_json"))
    assert data["duration"] == 4.25
    assert [w["word"] for w in data["words"]] == ["Hello", "there.", "General", "Kenobi."]


def parse_srt(text):
    blocks = [b for b in text.strip().split("\n\n") if b]
    cues = []
    for number, block in enumerate(blocks, start=1):
        index, times, *lines = block.split("\n")
        assert int(index) == number
        start, end = times.split(" --> ")
        cues.append((to_seconds(start, ","), to_seconds(end, ","), " ".join(lines)))
    return cues


def to_seconds(stamp, separator):
    match = re.fullmatch(rf"(\d\d):(\d\d):(\d\d){re.escape(separator)}(\d\d\d)", stamp)
    assert match, stamp
    h, m, s, ms = map(int, match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


def test_srt_cues_are_ordered_and_never_overlap(transcript):
    # One line of 16 characters a cue makes two cues (the default rules fit both in one).
    cues = parse_srt(format_transcript(transcript, "srt", max_line_chars=16, max_lines=1))
    assert [c[2] for c in cues] == ["Hello there.", "General Kenobi."]
    for (s1, e1, _), (s2, e2, _) in zip(cues, cues[1:], strict=False):
        assert s1 < e1 <= s2 < e2


def test_subtitles_never_repeat_words_as_extra_cues(transcript):
    srt = format_transcript(transcript, "srt")
    assert srt.count("Hello") == 1 and srt.count("Kenobi") == 1


def test_vtt_is_valid_webvtt(transcript):
    vtt = format_transcript(transcript, "vtt", max_line_chars=16, max_lines=1)
    assert vtt.startswith("WEBVTT\n\n")
    stamps = re.findall(r"(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)", vtt)
    assert len(stamps) == 2
    assert to_seconds(stamps[0][1], ".") <= to_seconds(stamps[1][0], ".")


def test_subtitles_refuse_a_transcript_without_real_timestamps():
    untimed = Transcript("hi", segments=[Segment(0.0, 0.0, "hi")], has_timestamps=False)
    with pytest.raises(AudioError, match="no timestamps"):
        format_transcript(untimed, "srt")


def test_long_times_format_with_hours():
    long = Transcript("late", segments=[Segment(3725.5, 3727.25, "late")])
    assert "01:02:05,500 --> 01:02:07,250" in format_transcript(long, "srt")
