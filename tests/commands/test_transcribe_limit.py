"""`llm transcribe --max-audio-minutes` and the transcription models' max_seconds.

The input that must be refused is a decode bomb (decode_bombs.py): a 77 KB FLAC that
decodes to 12 hours. The model is the tiny real Whisper; the VAD and the speaker
encoder are the plugin's own.
"""

import json
import signal
import threading

import pytest
from decode_bombs import flac_bomb
from llm_runner import llm_subprocess, serve_in_a_process
from spoken_clips import speech_wav

from llm_mlx_audio import registry
from llm_mlx_audio.errors import AudioTooLongError, JobCancelled
from llm_mlx_audio.models import Transcript, TranscriptionModel, load_samples, transcribe_limited

LOADED = b"loaded tiny-whisper"  # what --verbose says when this process loads it


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = tmp_path_factory.mktemp("bombs") / "meeting.flac"
    path.write_bytes(flac_bomb(12))
    return path


@pytest.fixture
def clip(tmp_path):
    """A spoken sentence (the VAD passes it to the model), as a wav file."""
    path = tmp_path / "clip.wav"
    path.write_bytes(speech_wav("Please call me back after lunch."))
    return path


def assert_one_line(result, line):
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [line]


@pytest.mark.parametrize("options", [[], ["--no-vad"], ["--diarize"]], ids=["vad", "no-vad", "diarize"])
def test_the_bomb_is_refused_in_one_line_and_nothing_is_written(
    llm_cli, tiny_models, bomb, tmp_path, options
):
    out = tmp_path / "meeting.txt"
    result = llm_cli("transcribe", str(bomb), "--max-audio-minutes", "5", "-o", str(out), *options)
    assert_one_line(result, f"Error: {bomb} is longer than the 5-minute limit (--max-audio-minutes)")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_piped_audio_is_refused_as_the_input(llm_cli, tiny_models, bomb):
    result = llm_cli("transcribe", "-", "--max-audio-minutes", "0.5", input=bomb.read_bytes())
    assert_one_line(result, "Error: the input is longer than the 0.5-minute limit (--max-audio-minutes)")
    assert result.stdout == ""


def test_audio_under_the_limit_transcribes_unchanged(llm_cli, tiny_models, clip):
    plain = llm_cli("transcribe", str(clip), "--format", "verbose_json", "--word-timestamps")
    limited = llm_cli(
        "transcribe", str(clip), "--format", "verbose_json", "--word-timestamps", "--max-audio-minutes", "1"
    )
    assert plain.exit_code == 0 and limited.exit_code == 0, plain.output + limited.output
    assert json.loads(limited.stdout) == json.loads(plain.stdout)


def test_with_an_output_dir_the_other_files_are_still_transcribed(llm_cli, tiny_models, bomb, clip, tmp_path):
    out = tmp_path / "out"
    result = llm_cli(
        "transcribe", str(bomb), str(clip), "--output-dir", str(out), "--max-audio-minutes", "2", "-q"
    )
    assert result.exit_code == 1
    assert f"Error: {bomb}: {bomb} is longer than the 2-minute limit" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["clip.txt"]


@pytest.mark.parametrize("value", ["0", "-3", "ten"])
def test_the_limit_must_be_a_positive_number(llm_cli, value):
    result = llm_cli("transcribe", "x.wav", "--max-audio-minutes", value)
    assert result.exit_code == 2
    assert "--max-audio-minutes" in result.stderr


def test_nan_is_not_a_limit(llm_cli, tiny_models, clip):
    result = llm_cli("transcribe", str(clip), "--max-audio-minutes", "nan")
    assert_one_line(result, "Error: --max-audio-minutes must be a number of minutes above 0, not nan")


def test_with_a_limit_the_work_stays_here_even_when_a_server_runs(tiny_models, user_dir, bomb, clip):
    process, _ = serve_in_a_process(user_dir)
    try:
        warm = llm_subprocess("transcribe", str(clip), "--verbose", "-n")
        local = llm_subprocess("transcribe", str(clip), "--verbose", "-n", "--max-audio-minutes", "1")
        refused = llm_subprocess("transcribe", str(bomb), "-n", "--max-audio-minutes", "1")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert warm.returncode == 0 and LOADED not in warm.stderr, warm.stderr  # the server's model did it
    assert local.returncode == 0 and LOADED in local.stderr, local.stderr
    assert local.stdout == warm.stdout
    assert refused.returncode == 1
    assert refused.stderr.decode().strip().splitlines() == [
        f"Error: {bomb} is longer than the 1-minute limit (--max-audio-minutes)"
    ]


# -- the Python API: the MLX models, cancellation, third-party models -----------------------


@pytest.mark.parametrize("vad", [True, False])
def test_the_mlx_model_stops_at_max_seconds_in_either_path(tiny_whisper, bomb, vad):
    model = registry.find_model("transcription", str(tiny_whisper))
    with pytest.raises(AudioTooLongError, match="longer than the 3-minute limit"):
        model.transcribe(str(bomb), vad=vad, max_seconds=180)
    with pytest.raises(AudioTooLongError, match="^the input is longer"):
        model.transcribe(bomb.read_bytes(), vad=vad, max_seconds=180)


@pytest.mark.parametrize("vad", [True, False])
def test_a_cancelled_transcription_stops_decoding(tiny_whisper, bomb, clip, vad):
    """The model (and the VAD) loaded already, decoding is the only work left to stop: the
    decoder itself sees the request go, at its first packet, not 12 hours later."""
    model = registry.find_model("transcription", str(tiny_whisper))
    model.transcribe(str(clip), vad=vad)
    gone = threading.Event()
    gone.set()
    with registry.cancel_when(gone), pytest.raises(JobCancelled, match=r"^Decoding .*meeting\.flac stopped"):
        model.transcribe(str(bomb), vad=vad, max_seconds=4 * 3600)  # the limit: a net, if this failed


class Counter(TranscriptionModel):
    """A third-party engine on the shared base class."""

    model_id = "counter"

    def transcribe_samples(self, samples, *, language, prompt, temperature, word_timestamps):
        return Transcript(text=f"{len(samples)} samples")


class OlderCounter(Counter):
    """One written before max_seconds, with its own transcribe() (an unknown keyword would
    land in **options, unseen)."""

    def transcribe(self, audio, language=None, **options):
        return Transcript(text=f"{len(load_samples(audio, self.input_sample_rate))} samples")


def test_third_party_models_meet_the_limit(bomb, clip):
    for model in (Counter(), OlderCounter()):
        with pytest.raises(AudioTooLongError, match=f"^{bomb} is longer than the 1-minute limit"):
            transcribe_limited(model, str(bomb), 60, language="en")
        assert transcribe_limited(model, str(clip), 60).text == model.transcribe(str(clip)).text
    assert Counter().transcribe(str(clip), max_seconds=60).text.endswith(" samples")
