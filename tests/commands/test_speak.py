"""`llm speak` through the real llm CLI, on a tiny real kitten_tts model."""

import io
import struct
import wave

import pytest
from llm_runner import llm_subprocess


def wav_info(data: bytes):
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    with wave.open(io.BytesIO(data)) as w:
        return w.getframerate(), w.getnframes(), w.getnchannels(), w.getsampwidth()


def test_speak_writes_a_valid_wav_file(llm_cli, tiny_models, tmp_path):
    out = tmp_path / "hello.wav"
    result = llm_cli("speak", "Hello there, this is a test.", "-o", str(out))
    assert result.exit_code == 0, result.output
    rate, frames, channels, width = wav_info(out.read_bytes())
    assert (rate, channels, width) == (24000, 1, 2)
    assert frames > 0
    header_size = struct.unpack("<I", out.read_bytes()[40:44])[0]
    assert header_size == frames * 2


def test_speak_reads_text_from_stdin(llm_cli, tiny_models, tmp_path):
    out = tmp_path / "piped.wav"
    result = llm_cli("speak", "-o", str(out), input="Text that came through a pipe.")
    assert result.exit_code == 0, result.output
    assert wav_info(out.read_bytes())[1] > 0


def test_speak_to_stdout_with_dash(llm_cli, tiny_models):
    result = llm_cli("speak", "Bytes to standard output.", "-o", "-")
    assert result.exit_code == 0
    data = result.stdout_bytes
    # a pipe cannot be rewound: the header says "length unknown", as streaming wav does
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) > 1000


def frames_for(llm_cli, tmp_path, text, *extra):
    out = tmp_path / f"{abs(hash((text, extra)))}.wav"
    result = llm_cli("speak", text, "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    return wav_info(out.read_bytes())[1]


def test_longer_text_gives_longer_audio(llm_cli, tiny_models, tmp_path):
    short = frames_for(llm_cli, tmp_path, "Short.")
    long = frames_for(llm_cli, tmp_path, "This is a much longer sentence with many more words in it.")
    assert long > short


def test_speed_two_gives_shorter_audio_than_speed_one(llm_cli, tiny_models, tmp_path):
    text = "The same words spoken at two different speeds."
    normal = frames_for(llm_cli, tmp_path, text, "--speed", "1.0")
    fast = frames_for(llm_cli, tmp_path, text, "--speed", "2.0")
    assert fast < normal


def test_long_text_is_split_and_joined_into_one_file(llm_cli, tiny_models, tmp_path):
    text = " ".join(f"This is sentence number {i} of a long text." for i in range(12))
    frames = frames_for(llm_cli, tmp_path, text)
    one = frames_for(llm_cli, tmp_path, "This is sentence number 1 of a long text.")
    assert frames > 6 * one


def test_pcm_is_raw_16_bit_samples(llm_cli, tiny_models):
    wav = llm_cli("speak", "Raw samples please.", "-o", "-", "--format", "wav").stdout_bytes
    pcm = llm_cli("speak", "Raw samples please.", "-o", "-", "--format", "pcm").stdout_bytes
    assert len(pcm) > 0 and len(pcm) % 2 == 0
    assert pcm == wav[44:]


def test_format_follows_the_output_extension(llm_cli, tiny_models, tmp_path):
    out = tmp_path / "speech.mp3"
    assert llm_cli("speak", "In mp3 please.", "-o", str(out)).exit_code == 0
    data = out.read_bytes()
    assert data[:3] == b"ID3" or data[0] == 0xFF


def test_a_voice_from_the_model_can_be_chosen(llm_cli, tiny_models, tmp_path):
    out = tmp_path / "voice.wav"
    result = llm_cli("speak", "Another voice.", "-v", "expr-voice-2-f", "-o", str(out))
    assert result.exit_code == 0, result.output


def assert_refused(result, message, out=None):
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    if out is not None:
        assert not out.exists()


def test_speak_refuses_an_unknown_voice(llm_cli, tiny_models, tmp_path):
    out = tmp_path / "x.wav"
    result = llm_cli("speak", "Hi.", "-v", "nobody", "-o", str(out))
    assert_refused(result, "Unknown voice 'nobody'", out)
    assert "expr-voice-5-m" in result.stderr


@pytest.mark.parametrize("speed", ["0.1", "4.5", "-1", "nan"])
def test_speak_refuses_speed_out_of_range(llm_cli, tiny_models, tmp_path, speed):
    out = tmp_path / "x.wav"
    result = llm_cli("speak", "Hi.", "--speed", speed, "-o", str(out))
    assert_refused(result, "Speed must be between 0.25 and 4.0", out)


@pytest.mark.parametrize("text", ["", "   \n "])
def test_speak_refuses_empty_text(llm_cli, tiny_models, tmp_path, text):
    out = tmp_path / "x.wav"
    assert_refused(llm_cli("speak", "-o", str(out), input=text), "No text to speak", out)


@pytest.mark.parametrize("text", ["<0>", "...", "(("])
def test_speak_refuses_text_with_nothing_to_say(llm_cli, tiny_models, tmp_path, text):
    # eSpeak gives kitten_tts no phonemes for these (found by the server's fuzz test)
    out = tmp_path / "x.wav"
    result = llm_cli("speak", "-o", str(out), text)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
    assert not out.exists()


def test_speak_refuses_an_unknown_model(llm_cli, tiny_models, tmp_path):
    out = tmp_path / "x.wav"
    result = llm_cli("speak", "Hi.", "-m", "no-such-model", "-o", str(out))
    assert_refused(result, "Unknown speech model 'no-such-model'", out)


def test_speak_refuses_a_transcription_model(llm_cli, tiny_models, tmp_path):
    out = tmp_path / "x.wav"
    result = llm_cli("speak", "Hi.", "-m", "tiny-whisper", "-o", str(out))
    assert_refused(result, "is a transcription model", out)


def test_speak_refuses_a_text_model_folder_saying_what_it_is(llm_cli, tiny_models, tmp_path):
    folder = tmp_path / "Llama-3-mini"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}')
    result = llm_cli("speak", "Hi.", "-m", str(folder), "-o", str(tmp_path / "x.wav"))
    assert_refused(result, "holds a text generation model")


def test_speak_refuses_an_unwritable_output_before_working(llm_cli, tiny_models):
    result = llm_cli("speak", "Hi.", "-o", "/proc/speech.wav")
    assert_refused(result, "Cannot write to /proc")


def test_a_failed_speak_does_not_clobber_an_existing_file(llm_cli, tiny_models, tmp_path):
    out = tmp_path / "keep.wav"
    out.write_bytes(b"precious")
    result = llm_cli("speak", "Hi.", "-v", "nobody", "-o", str(out))
    assert result.exit_code != 0
    assert out.read_bytes() == b"precious"


def has_output_device():
    try:
        import sounddevice

        return bool(sounddevice.query_devices(kind="output"))
    except Exception:
        return False


@pytest.mark.skipif(has_output_device(), reason="this machine can really play sound")
def test_speak_without_output_device_says_so(llm_cli, tiny_models):
    result = llm_cli("speak", "Hi.")
    assert result.exit_code != 0
    assert "Cannot play audio" in result.stderr
    assert "Traceback" not in result.stderr


def test_speak_in_a_subprocess_writes_the_file(tiny_models, tmp_path):
    out = tmp_path / "sub.wav"
    result = llm_subprocess("speak", "From a real process.", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert wav_info(out.read_bytes())[1] > 0


@pytest.mark.parametrize("text", ["```\nprint('only code')\n```", "😴 🛌 ✨", "---\n\n***", "![](x.png)"])
def test_speak_refuses_text_that_is_only_code_emoji_or_markup(llm_cli, tiny_models, tmp_path, text):
    out = tmp_path / "x.wav"
    assert_refused(llm_cli("speak", "-o", str(out), input=text), "No text to speak", out)


def test_markdown_markup_is_not_spoken_unless_raw(llm_cli, tiny_models, tmp_path):
    """The same words with and without markup make the same audio; --raw reads the text as given."""
    marked = "# Title\n\n**Bold** words and `code` and [a link](https://example.com/a/b)."
    plain = "Title.\nBold words and code and a link."
    assert frames_for(llm_cli, tmp_path, marked) == frames_for(llm_cli, tmp_path, plain)
    url = "Read www.example.com now."
    assert frames_for(llm_cli, tmp_path, url) == frames_for(llm_cli, tmp_path, "Read example dot com now.")
    assert frames_for(llm_cli, tmp_path, url, "--raw") != frames_for(llm_cli, tmp_path, url)


def test_streamed_markdown_sounds_like_its_plain_words_streamed(tiny_models, tmp_path):
    """--stream reads Markdown arriving through a pipe as the whole text would read it."""
    answer = "# Tips\n\n1. **Sleep** early.\n2. Wake up *early*.\n\n```\ncode()\n```\nDone."
    plain = "Tips.\nSleep early.\nWake up early.\nDone."

    def streamed(text, name):
        out = tmp_path / name
        result = llm_subprocess("speak", "--stream", "-o", str(out), input=text.encode())
        assert result.returncode == 0, result.stderr
        return wav_info(out.read_bytes())[1]

    assert streamed(answer, "markdown.wav") == streamed(plain, "plain.wav")


def test_a_model_that_cannot_blend_voices_says_so(llm_cli, tiny_models, tmp_path):
    out = tmp_path / "x.wav"
    result = llm_cli("speak", "-v", "expr-voice-2-f+expr-voice-5-m", "Hi.", "-o", str(out))
    assert_refused(result, "tiny-kitten cannot blend voices", out)


@pytest.fixture
def verbose_restored(monkeypatch):
    """--verbose changes this process's environment and logging: put both back after."""
    import logging

    monkeypatch.setenv("LLM_MLX_AUDIO_DEBUG", "0")
    logger = logging.getLogger("llm_mlx_audio")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


def test_verbose_shows_load_and_synthesis_timings(llm_cli, tiny_models, tmp_path, verbose_restored):
    result = llm_cli("speak", "Hello there.", "-o", str(tmp_path / "x.wav"), "--verbose")
    assert result.exit_code == 0, result.output
    assert "llm-mlx-audio: synthesized" in result.stderr and "real-time factor" in result.stderr


def test_a_normal_run_prints_nothing_on_stderr(tiny_models, tmp_path):
    out = tmp_path / "quiet.wav"
    result = llm_subprocess("speak", "Hello there, general Kenobi.", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == b"", result.stderr.decode()
