"""Subtitle rules on a long real recording (issue 25): no cue breaks a rule it was given, no
word is split, and the cues joined are the transcript.

The recording is tests/real_conversations.py's monologue of Allison Smith's studio prompts
(12 turns, about 100 s), transcribed once by the embedded whisper-tiny.en with word
timestamps; the rules are checked on that one transcript under several settings, in
SRT and WebVTT, plain and karaoke. The command line is checked on a shorter piece.
"""

import re

import pytest
from real_conversations import HAVE_REAL_VOICES, RATE, conversation
from subtitle_checks import parse_srt, parse_vtt, rule_breaks, words_of

import llm_mlx_audio
from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.audio.writers import format_transcript
from llm_mlx_audio.engine import embedded

TINY = "whisper-tiny.en"
pytestmark = pytest.mark.skipif(
    not (HAVE_REAL_VOICES and embedded.available(TINY)),
    reason="Asterisk's core sounds or the offline extra's whisper-tiny.en missing (scripts/setup test)",
)
SETTINGS = [
    dict(max_line_chars=42, max_lines=2, max_cue_seconds=7.0),
    dict(max_line_chars=32, max_lines=1, max_cue_seconds=4.0),
    dict(max_line_chars=20, max_lines=2, max_cue_seconds=3.0),
    dict(max_line_chars=60, max_lines=3, max_cue_seconds=10.0),
]
IDS = ["{max_line_chars}-{max_lines}-{max_cue_seconds:g}".format(**r) for r in SETTINGS]


@pytest.fixture(name="user_dir")
def shared_user_dir_for_each_test(shared_user_dir, monkeypatch):
    """One user directory for the module: the embedded model is converted once."""
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_user_dir


def _wav(directory, name, turns, seed):
    samples, _ = conversation(("allison",), seed=seed, turns=turns)
    path = directory / f"{name}.wav"
    path.write_bytes(encode_audio(samples, RATE, "wav"))
    return path


@pytest.fixture(scope="module")
def long_transcript(shared_user_dir, tmp_path_factory):
    """The one real transcription of the module: about 100 s, with word timestamps."""
    path = _wav(tmp_path_factory.mktemp("long"), "monologue", turns=12, seed=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        patch.setenv("HF_HUB_OFFLINE", "1")
        embedded.ensure_embedded(TINY)
        model = llm_mlx_audio.get_transcription_model(TINY)
        return model.transcribe(str(path), language="en", word_timestamps=True, progress=False)


def test_the_long_recording_is_long_and_timed_by_word(long_transcript):
    assert long_transcript.duration > 80
    assert len(long_transcript.text.split()) > 150
    assert all(segment.words for segment in long_transcript.segments if segment.text.strip())


@pytest.mark.parametrize("rules", SETTINGS, ids=IDS)
@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_on_a_long_recording_no_cue_breaks_a_rule_it_was_given(long_transcript, rules, fmt):
    text = format_transcript(long_transcript, fmt, **rules)
    cues = parse_srt(text) if fmt == "srt" else parse_vtt(text)
    assert len(cues) > 10
    assert rule_breaks(cues, duration=long_transcript.duration, **rules) == []


@pytest.mark.parametrize("rules", SETTINGS, ids=IDS)
def test_on_a_long_recording_no_word_is_split_and_the_cues_joined_are_the_transcript(long_transcript, rules):
    expected = long_transcript.text.split()
    assert words_of(parse_srt(format_transcript(long_transcript, "srt", **rules))) == expected
    for highlight_words in (False, True):
        vtt = format_transcript(long_transcript, "vtt", highlight_words=highlight_words, **rules)
        assert words_of(parse_vtt(vtt)) == expected


def test_on_a_long_recording_karaoke_srt_lights_every_word_once(long_transcript):
    cues = parse_srt(format_transcript(long_transcript, "srt", highlight_words=True))
    lit = [re.findall(r"<u>([^<]+)</u>", cue.raw) for cue in cues]
    assert all(len(words) == 1 for words in lit)
    assert [words[0] for words in lit] == long_transcript.text.split()
    assert all(a.end <= b.start < b.end for a, b in zip(cues, cues[1:], strict=False))


def test_transcribe_writes_cues_by_the_rules_given_on_the_command_line(llm_cli, long_transcript, tmp_path):
    path = _wav(tmp_path, "short", turns=2, seed=5)
    out = tmp_path / "short.vtt"
    rules = dict(max_line_chars=24, max_lines=1, max_cue_seconds=3.0)
    result = llm_cli(
        "transcribe", str(path), "-m", TINY, "--format", "vtt", "-o", str(out),
        "--max-line-chars", "24", "--max-lines", "1", "--max-cue-seconds", "3", "--highlight-words",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    vtt = out.read_text()
    cues = parse_vtt(vtt)
    assert len(cues) >= 3 and "<c>" in vtt
    assert rule_breaks(cues, **rules) == []


@pytest.mark.parametrize(
    "options, message",
    [
        (["--format", "srt", "--max-lines", "9"], "--max-lines must be a whole number from 1 to 4, not 9"),
        (
            ["--format", "vtt", "--max-cue-seconds", "soon"],
            "--max-cue-seconds must be a number of seconds from 1 to 60, not 'soon'",
        ),
        (["--max-line-chars", "30"], "--max-line-chars only apply to --format srt or vtt, not text"),
    ],
)
def test_transcribe_refuses_a_bad_subtitle_option_in_one_line(llm_cli, tmp_path, options, message):
    out = tmp_path / "out.srt"
    result = llm_cli("transcribe", str(tmp_path / "none.wav"), "-m", TINY, "-o", str(out), *options)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}\n"
    assert not out.exists()
