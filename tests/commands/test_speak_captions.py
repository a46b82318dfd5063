"""`llm speak --captions`: the embedded Kokoro's word times, checked against the embedded
text and against what Whisper base hears in the same audio.

One real Kokoro run of the three Markdown answers and a paragraph of plain text feeds the
timing and span checks; the CLI runs reuse the model this process has loaded.
"""

import json

import pytest
from caption_timing import MARKDOWN_ANSWERS, PLAIN_TEXT, compare, summary, whisper_words
from llm_runner import llm_subprocess, run_llm

from llm_mlx_audio.audio.decode import decode_audio
from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not embedded.available("speech"), reason="the offline extra (the embedded Kokoro) is not installed"
)

TEXT = "\n\n".join(MARKDOWN_ANSWERS) + "\n\n" + PLAIN_TEXT[: PLAIN_TEXT.index(" When the storm")]
SHORT = "**Bold** claim: it costs 1,234 dollars, see https://example.com/docs. Don’t worry! 🎉"


@pytest.fixture(name="user_dir")
def shared_user_dir_for_each_test(shared_user_dir, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_user_dir


@pytest.fixture(scope="module")
def spoken(shared_user_dir, whisper_base):
    """The text spoken once through the Python API, and Whisper base's words for its audio."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        patch.setenv("HF_HUB_OFFLINE", "1")
        import llm_mlx_audio

        audio = llm_mlx_audio.get_speech_model().speak(TEXT)
        from llm_mlx_audio.engine.models import MlxTranscriptionModel

        whisper = MlxTranscriptionModel("whisper-base", whisper_base)
        heard = whisper.transcribe(audio.to_bytes("wav"), word_timestamps=True)
    return audio, whisper_words(heard)


@pytest.mark.stock_path
def test_the_stock_kokoro_path_times_the_words_of_the_users_text(user_dir):
    """The code Metal runs (mlx-audio's own Kokoro, the CPU speed-ups off in the stock lane)
    gives word times too. The long Whisper comparison below runs on the CPU path only: in
    the stock lane it made CI's stock pass take 22 minutes."""
    import llm_mlx_audio

    audio = llm_mlx_audio.get_speech_model().speak(SHORT)
    words = audio.words
    assert words and SHORT[words[0].char_start : words[0].char_end] == "Bold" == words[0].word
    starts = [w.start for w in words]
    assert starts == sorted(starts) and all(w.end > w.start for w in words)
    assert words[-1].end <= audio.duration + 0.05


def test_caption_times_agree_with_whisper_word_timestamps(spoken):
    audio, heard = spoken
    differences = compare(audio.words, heard)
    numbers = summary(differences)
    print("caption timing against Whisper base:", numbers)
    assert numbers["words"] >= 0.8 * len(audio.words), numbers
    assert numbers["median_ms"] <= 150, numbers
    assert numbers["p95_ms"] <= 400, numbers


def test_every_caption_word_is_the_input_text_at_its_span_in_time_order(spoken):
    audio, _ = spoken
    words = audio.words
    assert len(words) > 70
    for w in words:
        assert w.word == TEXT[w.char_start : w.char_end]
        assert 0 <= w.start < w.end
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert [w.char_start for w in words] == sorted(w.char_start for w in words)
    assert words[-1].end <= audio.duration
    assert {"help@example.com", "https://example.com/docs/setup_guide", "harbour", "burning"} <= {
        w.word for w in words
    }


def test_speak_writes_srt_vtt_and_json_captions_of_the_users_words(user_dir, tmp_path):
    for format in ("srt", "vtt", "json"):
        path = tmp_path / f"short.{format}"
        result = run_llm("speak", SHORT, "-o", str(tmp_path / "short.wav"), "--captions", str(path))
        assert result.exit_code == 0, result.output
        written = path.read_text()
        if format == "json":
            data = json.loads(written)
            words = [(w["word"], w["char_start"], w["char_end"]) for w in data["words"]]
            assert words[:2] == [("Bold", 2, 6), ("claim", 9, 14)]
            for word in ("1,234", "https://example.com/docs", "Don’t", "worry"):
                at = SHORT.index(word)
                assert (word, at, at + len(word)) in words
            assert words[-1][0] == "worry"  # the emoji is not a word
        else:
            assert "Bold claim: it costs 1,234 dollars," in written
            assert "-->" in written and "**" not in written
            assert written.startswith("WEBVTT") == (format == "vtt")


def test_streamed_captions_are_the_whole_texts_captions(user_dir, tmp_path):
    """Whole or streamed, the text is said in the same pieces: the same audio, the same
    captions, times and all."""
    text = "\n\n".join(MARKDOWN_ANSWERS)
    whole = tmp_path / "whole.json"
    assert run_llm("speak", text, "-o", str(tmp_path / "w.wav"), "--captions", str(whole)).exit_code == 0
    streamed = tmp_path / "streamed.json"
    env = {"LLM_USER_PATH": str(user_dir), "HF_HUB_OFFLINE": "1"}
    result = llm_subprocess(
        "speak",
        "--stream",
        "-o",
        str(tmp_path / "s.wav"),
        "--captions",
        str(streamed),
        input=text.encode(),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    streamed_captions = json.loads(streamed.read_text())
    assert len(streamed_captions["words"]) > 50
    assert streamed_captions == json.loads(whole.read_text())
    assert (
        abs(streamed_captions["duration"] - len(decode_audio(str(tmp_path / "s.wav"), 24000)) / 24000) < 0.01
    )


def test_python_stream_speech_words_are_the_whole_texts_words(spoken, user_dir):
    """stream_speech's chunks carry each word's place in all the pieces joined, not in the
    sentence it was said in; on one clock they are the whole text's words."""
    import llm_mlx_audio
    from llm_mlx_audio.models import Audio

    audio, _ = spoken
    pieces = [TEXT[i : i + 7] for i in range(0, len(TEXT), 7)]
    streamed = Audio.join(llm_mlx_audio.stream_speech(llm_mlx_audio.get_speech_model(), pieces))
    assert streamed.words == audio.words
    assert streamed.duration == audio.duration


def test_captions_need_a_known_format(user_dir, tmp_path):
    result = run_llm("speak", "Hi", "-o", str(tmp_path / "a.wav"), "--captions", str(tmp_path / "a.txt"))
    assert result.exit_code == 1
    assert "Cannot tell the captions format" in result.output
    assert not (tmp_path / "a.wav").exists() and not (tmp_path / "a.txt").exists()


def test_captions_through_the_warm_server_are_the_local_ones(user_dir, tmp_path):
    import signal

    from llm_runner import serve_in_a_process

    process, _ = serve_in_a_process(user_dir)
    try:
        env = {"LLM_USER_PATH": str(user_dir), "HF_HUB_OFFLINE": "1"}
        warm = tmp_path / "warm.json"
        result = llm_subprocess(
            "speak", SHORT, "-o", str(tmp_path / "warm.wav"), "--captions", str(warm), "--verbose", env=env
        )
        assert result.returncode == 0, result.stderr
        assert b"through the server" in result.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    local = tmp_path / "local.json"
    assert (
        run_llm("speak", SHORT, "-o", str(tmp_path / "l.wav"), "--captions", str(local), "--local").exit_code
        == 0
    )
    assert json.loads(warm.read_text()) == json.loads(local.read_text())
