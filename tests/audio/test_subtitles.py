"""Subtitle cues people can read (issue 25): every rule, on transcripts built to test it.

The rules are checked on the SRT and WebVTT a player reads (tests/subtitle_checks.py).
"""

import re

import pytest
from subtitle_checks import parse_srt, parse_vtt, rule_breaks, seconds, words_of

from llm_mlx_audio.audio.subtitles import SubtitleRules, make_cues
from llm_mlx_audio.audio.writers import format_transcript
from llm_mlx_audio.errors import AudioError
from llm_mlx_audio.models import Segment, Transcript, Word

STORY = (
    "The quick brown fox, who had never seen a dog before, jumped over the lazy one. "
    "Then it ran away into the forest; nobody saw it again. Years later, a hunter found "
    "its den near the old river bank and told everyone in the village about it. "
    "Nobody believed him: foxes, they said, do not build dens by rivers. He went back "
    "the next spring with his daughter, and the den was still there, empty and quiet"
)
SETTINGS = [
    dict(max_line_chars=42, max_lines=2, max_cue_seconds=7.0),
    dict(max_line_chars=32, max_lines=1, max_cue_seconds=4.0),
    dict(max_line_chars=20, max_lines=2, max_cue_seconds=3.0),
    dict(max_line_chars=10, max_lines=3, max_cue_seconds=1.0),
]


def spoken(text, start=0.0, pause=0.08, speaker=None, seconds_per_char=0.06, pauses=None):
    """Words timed as speech is: each takes time by its length, with pauses between
    (pauses: {word index: seconds} for longer ones)."""
    words, at = [], start
    for k, token in enumerate(text.split()):
        length = 0.1 + seconds_per_char * len(token)
        words.append(Word(at, at + length, " " + token, speaker=speaker))
        at += length + (pauses or {}).get(k, pause)
    return words


def transcript_of(*segments, duration=None):
    segments = list(segments)
    text = " ".join(s.text.strip() for s in segments)
    speakers = list(dict.fromkeys(s.speaker for s in segments if s.speaker))
    return Transcript(text=text, duration=duration, segments=segments, speakers=speakers)


def segment(text, **timing):
    words = spoken(text, **timing)
    return Segment(words[0].start, words[-1].end, " " + text, words, speaker=timing.get("speaker"))


def srt_cues(transcript, **rules):
    return parse_srt(format_transcript(transcript, "srt", **rules))


@pytest.fixture
def story():
    return transcript_of(segment(STORY), duration=60.0)


@pytest.mark.parametrize(
    "rules", SETTINGS, ids=lambda r: "{max_line_chars}-{max_lines}-{max_cue_seconds}".format(**r)
)
@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_no_cue_breaks_a_rule_it_was_given(story, rules, fmt):
    text = format_transcript(story, fmt, **rules)
    cues = parse_srt(text) if fmt == "srt" else parse_vtt(text)
    assert len(cues) > 1
    assert rule_breaks(cues, duration=story.duration, **rules) == []


@pytest.mark.parametrize(
    "rules", SETTINGS, ids=lambda r: "{max_line_chars}-{max_lines}-{max_cue_seconds}".format(**r)
)
@pytest.mark.parametrize("highlight_words", [False, True])
def test_no_word_is_split_and_the_cues_joined_are_the_transcript(story, rules, highlight_words):
    vtt = parse_vtt(format_transcript(story, "vtt", highlight_words=highlight_words, **rules))
    assert words_of(vtt) == story.text.split()
    if not highlight_words:  # karaoke SRT repeats each cue once per word
        assert words_of(srt_cues(story, **rules)) == story.text.split()


def test_the_default_rules_are_42_characters_2_lines_and_7_seconds(story):
    cues = srt_cues(story)
    assert max(len(line) for cue in cues for line in cue.lines) <= 42
    assert max(len(cue.lines) for cue in cues) == 2  # full cues use both lines
    assert rule_breaks(cues, duration=story.duration) == []


def test_cues_end_at_a_sentence_end_when_one_is_within_reach():
    text = "I saw it. The dog ran across the wide road to the other side of town"
    cues = srt_cues(transcript_of(segment(text)), max_line_chars=24, max_lines=2)
    assert " ".join(cues[0].lines) == "I saw it."


def test_a_clause_end_is_preferred_to_a_plain_word_boundary():
    text = "When the rain stopped, we walked down to the harbour"
    cues = srt_cues(transcript_of(segment(text)), max_line_chars=40, max_lines=1)
    assert cues[0].lines == ["When the rain stopped,"]


def test_without_punctuation_the_cut_falls_at_the_widest_pause():
    text = "we walked down to the harbour and looked at the boats in the water"
    words = spoken(text, pauses={5: 0.7})  # after "harbour"
    cues = srt_cues(transcript_of(Segment(0.0, words[-1].end, text, words)), max_line_chars=42, max_lines=1)
    assert cues[0].lines == ["we walked down to the harbour"]


def test_a_cue_is_never_on_screen_through_a_long_pause():
    text = "Are you there? Yes I am here"
    words = spoken(text, pauses={2: 2.5})
    cues = srt_cues(transcript_of(Segment(0.0, words[-1].end, text, words)))
    assert [" ".join(c.lines) for c in cues] == ["Are you there?", "Yes I am here"]


def test_lines_of_a_cue_are_balanced():
    text = "one two three four five six seven eight nine ten eleven twelve thirteen"
    cues = srt_cues(transcript_of(segment(text, seconds_per_char=0.02)), max_line_chars=42, max_lines=2)
    assert len(cues) == 1 and len(cues[0].lines) == 2
    first, second = map(len, cues[0].lines)
    assert abs(first - second) <= 8, cues[0].lines


def test_a_word_longer_than_a_line_gets_a_cue_of_its_own_unsplit():
    url = "https://example.com/a/very/long/path/that/never/ends.html"
    cues = srt_cues(transcript_of(segment(f"Go to {url} now")), max_line_chars=20, max_lines=2)
    assert url in [line for cue in cues for line in cue.lines]
    assert words_of(cues) == ["Go", "to", url, "now"]


def test_a_cue_longer_than_the_limit_is_cut_even_without_punctuation():
    text = " ".join(["word"] * 30)
    cues = srt_cues(transcript_of(segment(text, seconds_per_char=0.1)), max_cue_seconds=2.0)
    assert all(cue.end - cue.start <= 2.0 + 0.0015 for cue in cues)
    assert len(words_of(cues)) == 30


def test_a_short_cue_grows_to_a_second_into_free_time_but_not_into_the_next():
    first = Segment(0.0, 0.3, "Absolutely.", [Word(0.0, 0.3, " Absolutely.")])
    second = Segment(0.6, 1.0, "Certainly.", [Word(0.6, 1.0, " Certainly.")])
    third = Segment(5.0, 5.2, "Maybe.", [Word(5.0, 5.2, " Maybe.")])
    cues = srt_cues(transcript_of(first, second, third, duration=10.0), max_lines=1, max_line_chars=12)
    assert [(c.start, c.end) for c in cues] == [(0.0, 0.52), (0.6, 1.6), (5.0, 6.0)]


def test_cues_keep_two_frames_apart_even_when_word_times_overlap():
    first = Segment(0.0, 2.0, "Hello there.", [Word(0.0, 0.8, " Hello"), Word(0.8, 2.0, " there.")])
    second = Segment(1.9, 4.0, "General Kenobi.", [Word(1.9, 3.0, " General"), Word(3.0, 4.0, " Kenobi.")])
    cues = srt_cues(transcript_of(first, second), max_line_chars=16, max_lines=1)
    assert len(cues) == 2
    assert cues[1].start - cues[0].end == pytest.approx(0.08, abs=0.0015)


def test_cues_never_mix_speakers_and_srt_labels_count_toward_the_line():
    talk = transcript_of(
        segment("So what did you think of the film we saw", speaker="SPEAKER_1"),
        segment("I liked it", start=5.0, speaker="SPEAKER_2"),
        segment("Me too, especially the end", start=7.0, speaker="SPEAKER_1"),
    )
    srt = srt_cues(talk, max_line_chars=30)
    label = re.compile(r"^SPEAKER_\d: ")
    assert all(len(label.findall(cue.lines[0])) == 1 for cue in srt)  # every cue is one speaker's
    assert all(len(line) <= 30 for cue in srt for line in cue.lines)
    assert words_of(srt, label) == talk.text.split()
    vtt = format_transcript(talk, "vtt")
    payloads = [block.split("\n", 1)[1] for block in vtt.split("\n\n")[1:] if block.strip()]
    assert [p[: p.index(">") + 1] for p in payloads] == ["<v SPEAKER_1>", "<v SPEAKER_2>", "<v SPEAKER_1>"]
    for cue in make_cues(talk, SubtitleRules(max_line_chars=20)):
        assert {w.speaker for w in cue.words} == {cue.speaker}


def test_segments_without_words_are_spread_over_their_time_by_characters():
    plain = transcript_of(
        Segment(0.0, 6.0, "Short one. And then a much longer sentence that runs on and on."),
        Segment(6.5, 8.0, "Bye."),
    )
    cues = srt_cues(plain, max_line_chars=30, max_lines=1)
    assert words_of(cues) == plain.text.split()
    assert cues[0].lines == ["Short one."] and cues[0].end < 1.5
    assert cues[-1].lines == ["Bye."] and cues[-1].start == pytest.approx(6.5)


def test_the_segment_text_is_shown_at_its_words_times_when_they_are_spelt_differently():
    words = [Word(1.0, 1.4, " hello"), Word(2.0, 2.6, " world")]
    shouted = transcript_of(Segment(1.0, 2.6, "Hello, world!", words))
    vtt = format_transcript(shouted, "vtt", highlight_words=True)
    assert "00:00:01.000 --> 00:00:02.600\n<c>Hello,</c> <00:00:02.000><c>world!</c>\n" in vtt


def test_vtt_karaoke_marks_each_word_with_a_timestamp_tag(story):
    vtt = format_transcript(story, "vtt", highlight_words=True)
    for cue in parse_vtt(vtt):
        assert re.match(r"<c>[^<]+</c>", cue.raw)  # the first word shows with the cue
        tags = re.findall(r"<(\d\d:\d\d:\d\d\.\d\d\d)><c>([^<]+)</c>", cue.raw)
        words = " ".join(cue.lines).split()
        assert [w for _, w in tags] == words[1:]
        times = [seconds(t) for t, _ in tags]
        assert all(cue.start < t < cue.end for t in times)
        assert times == sorted(set(times))


def test_srt_karaoke_is_one_cue_per_word_with_that_word_underlined(story):
    plain = srt_cues(story)
    karaoke = srt_cues(story, highlight_words=True)
    assert len(karaoke) == len(story.text.split())
    at = 0
    for cue in plain:
        words = " ".join(cue.lines).split()
        group = karaoke[at : at + len(words)]
        at += len(words)
        for k, sub in enumerate(group):
            lit = re.findall(r"<u>([^<]+)</u>", sub.raw)
            assert lit == [words[k]]
            assert sub.lines == cue.lines  # the cue's full text every time
        assert group[0].start == cue.start and group[-1].end == cue.end
        assert all(a.end == b.start < b.end for a, b in zip(group, group[1:], strict=False))
    assert at == len(karaoke)


@pytest.mark.parametrize(
    "rules, message",
    [
        (dict(max_line_chars=5), "max_line_chars must be a whole number from 10 to 200, not 5"),
        (dict(max_lines=0), "max_lines must be a whole number from 1 to 4, not 0"),
        (
            dict(max_cue_seconds=float("nan")),
            "max_cue_seconds must be a number of seconds from 1 to 60, not nan",
        ),
        (dict(max_cue_seconds=0.5), "max_cue_seconds must be a number of seconds from 1 to 60, not 0.5"),
    ],
)
def test_rules_out_of_range_are_refused_in_one_line(story, rules, message):
    with pytest.raises(AudioError) as error:
        format_transcript(story, "srt", **rules)
    assert str(error.value) == message


def test_a_transcript_without_speech_has_no_cues():
    empty = Transcript(text="", segments=[])
    assert format_transcript(empty, "srt") == ""
    assert format_transcript(empty, "vtt") == "WEBVTT\n"
