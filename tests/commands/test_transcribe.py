"""`llm transcribe` through the real llm CLI, on a tiny real whisper model.

The tiny model's words are random: these tests check the plumbing (files, pipes,
formats, errors, batches). Real words are checked in test_real_speech.py.
"""

import json

import numpy as np
import pytest
from spoken_clips import speech_wav, wav_seconds

from llm_mlx_audio.audio.encode import encode_audio


@pytest.fixture
def clip(tmp_path):
    """A spoken sentence (the VAD passes it to the model), as a wav file."""
    path = tmp_path / "clip.wav"
    path.write_bytes(speech_wav("Please call me back after lunch."))
    return path


def test_transcribe_prints_text(llm_cli, tiny_models, clip):
    result = llm_cli("transcribe", str(clip))
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("\n")
    assert result.stderr == ""


def test_transcribe_json_has_text_language_and_segments(llm_cli, tiny_models, clip):
    result = llm_cli("transcribe", str(clip), "--format", "json")
    data = json.loads(result.stdout)
    assert set(data) >= {"text", "language", "segments", "duration"}
    assert data["duration"] == pytest.approx(wav_seconds(clip), abs=0.01)
    assert isinstance(data["segments"], list)


def test_transcribe_reads_audio_from_stdin(llm_cli, tiny_models, clip):
    result = llm_cli("transcribe", "-", "--format", "json", input=clip.read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["duration"] == pytest.approx(wav_seconds(clip), abs=0.01)


def test_many_files_load_the_model_once(llm_cli, tiny_models, clip, tmp_path):
    from llm_mlx_audio.engine.pool import get_pool

    copies = []
    for i in range(3):
        copy = tmp_path / f"copy{i}.mp3"
        copy.write_bytes(encode_audio(np.zeros(8000, np.float32), 16000, "mp3"))
        copies.append(str(copy))
    result = llm_cli("transcribe", str(clip), *copies, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["file"] for d in data] == [str(clip), *copies]
    whisper_entries = [e for e in get_pool().loaded() if "tiny-whisper" in e["key"]]
    assert len(whisper_entries) == 1


def test_language_can_be_given(llm_cli, tiny_models, clip):
    result = llm_cli("transcribe", str(clip), "--language", "en", "--format", "json")
    assert json.loads(result.stdout)["language"] == "en"


def test_srt_output_is_parseable(llm_cli, tiny_models, clip, tmp_path):
    out = tmp_path / "clip.srt"
    result = llm_cli("transcribe", str(clip), "--format", "srt", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text()
    if text.strip():
        assert text.startswith("1\n") and " --> " in text


def assert_refused(result, message):
    assert result.exit_code != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_file_is_refused(llm_cli, tiny_models, tmp_path):
    assert_refused(llm_cli("transcribe", str(tmp_path / "nope.wav")), "no such file")


def test_empty_file_is_refused(llm_cli, tiny_models, tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert_refused(llm_cli("transcribe", str(empty)), "is empty")


def test_a_file_that_is_not_audio_is_refused(llm_cli, tiny_models, tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("these are my notes, not a recording\n" * 20)
    result = llm_cli("transcribe", str(text))
    assert result.exit_code != 0
    assert "not" in result.stderr and "audio" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_model_is_refused(llm_cli, tiny_models, clip):
    assert_refused(llm_cli("transcribe", str(clip), "-m", "nope"), "Unknown transcription model 'nope'")


def test_a_speech_model_is_refused(llm_cli, tiny_models, clip):
    assert_refused(llm_cli("transcribe", str(clip), "-m", "tiny-kitten"), "is a speech model")


def test_batch_reports_failures_but_writes_the_good_ones(llm_cli, tiny_models, clip, tmp_path):
    bad = tmp_path / "bad.m4a"
    bad.write_bytes(b"\x00\x01garbage" * 50)
    out = tmp_path / "out"
    result = llm_cli("transcribe", str(clip), str(bad), "--output-dir", str(out), "--format", "json")
    assert result.exit_code != 0
    assert "bad.m4a" in result.stderr
    assert (out / "clip.json").exists()
    assert not (out / "bad.json").exists()


def test_batch_skips_inputs_already_done_unless_forced(llm_cli, tiny_models, clip, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "clip.txt").write_text("done before\n")
    result = llm_cli("transcribe", str(clip), "--output-dir", str(out))
    assert result.exit_code == 0
    assert "Skipping" in result.stderr
    assert (out / "clip.txt").read_text() == "done before\n"
    llm_cli("transcribe", str(clip), "--output-dir", str(out), "--force")
    assert (out / "clip.txt").read_text() != "done before\n"


@pytest.mark.parametrize("format", ["wav", "mp3", "flac", "opus", "aac", "pcm"])
def test_every_speech_format_transcribes_back(llm_cli, tiny_models, tmp_path, format):
    out = tmp_path / f"spoken.{format}"
    assert llm_cli("speak", "Round trip through a format.", "-o", str(out), "--format", format).exit_code == 0
    if format == "pcm":
        # raw samples carry no header: wrap them the way a user would (24 kHz, 16-bit mono)
        from llm_mlx_audio.audio.encode import encode_audio

        samples = np.frombuffer(out.read_bytes(), "<i2").astype(np.float32) / 32767
        out = tmp_path / "spoken-pcm.wav"
        out.write_bytes(encode_audio(samples, 24000, "wav"))
    result = llm_cli("transcribe", str(out), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["duration"] > 0.5


@pytest.mark.parametrize("container,codec", [("ipod", "aac"), ("webm", "libopus"), ("ogg", "libopus")])
def test_phone_and_browser_recordings_transcribe_from_stdin(llm_cli, tiny_models, tmp_path, container, codec):
    import av

    path = tmp_path / f"memo.{container}"
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=48000)
        stream.layout = "mono"
        samples = (0.2 * np.sin(np.arange(48000 * 2) / 48000 * 2 * np.pi * 330)).astype(np.float32)
        for start in range(0, len(samples), 960):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + 960], format="flt", layout="mono"
            )
            frame.sample_rate = 48000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    result = llm_cli("transcribe", "-", "--format", "json", input=path.read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["duration"] == pytest.approx(2.0, abs=0.1)


def test_ten_minutes_without_speech_give_an_empty_transcript(llm_cli, tiny_models, tmp_path):
    """A faint hiss: the VAD finds no speech, so not one window reaches the (random) model."""
    rate = 16000
    rng = np.random.default_rng(1)
    samples = (0.003 * rng.standard_normal(rate * 600)).astype(np.float32)
    path = tmp_path / "ten-minutes.mp3"
    path.write_bytes(encode_audio(samples, rate, "mp3"))
    result = llm_cli("transcribe", str(path), "--format", "json", "--temperature", "0")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["duration"] == pytest.approx(600, abs=1)
    assert data["text"] == "" and data["segments"] == []
    text = llm_cli("transcribe", str(path))
    assert text.exit_code == 0 and text.stdout == ""
