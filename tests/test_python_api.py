"""The documented Python API: get a model, speak, save, transcribe, subtitles."""

import io
import wave

import numpy as np
import pytest

import llm_mlx_audio
from llm_mlx_audio import Audio, Transcript


def test_speak_returns_audio_with_samples_and_rate(tiny_models):
    audio = llm_mlx_audio.get_speech_model().speak("Hello from Python.", speed=1.2)
    assert isinstance(audio, Audio)
    assert audio.sample_rate == 24000
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.duration == pytest.approx(len(audio.samples) / 24000)


@pytest.mark.parametrize("format", ["wav", "mp3", "flac", "opus", "aac", "pcm"])
def test_audio_to_bytes_in_every_format(tiny_models, format):
    audio = llm_mlx_audio.get_speech_model("tiny-kitten").speak("Formats.")
    data = audio.to_bytes(format)
    assert len(data) > 100
    if format == "wav":
        with wave.open(io.BytesIO(data)) as w:
            assert w.getnframes() == len(audio.samples)


def test_save_picks_the_format_from_the_extension(tiny_models, tmp_path):
    audio = llm_mlx_audio.get_speech_model().speak("Saved.")
    path = audio.save(tmp_path / "saved.flac")
    assert path.read_bytes()[:4] == b"fLaC"


def test_transcribe_takes_paths_and_bytes(tiny_models, tmp_path):
    audio = llm_mlx_audio.get_speech_model().speak("Round trip.")
    path = audio.save(tmp_path / "rt.mp3")
    model = llm_mlx_audio.get_transcription_model()
    from_path = model.transcribe(str(path), language="en", temperature=0.0)
    from_bytes = model.transcribe(path.read_bytes(), language="en", temperature=0.0)
    assert isinstance(from_path, Transcript)
    assert from_path.text == from_bytes.text
    assert from_path.language == "en"
    assert from_path.duration == pytest.approx(audio.duration, abs=0.1)


def test_transcript_segments_and_subtitles(tiny_models, tmp_path):
    path = llm_mlx_audio.get_speech_model().speak("Subtitles please.").save(tmp_path / "s.wav")
    transcript = llm_mlx_audio.get_transcription_model().transcribe(str(path), temperature=0.0)
    for segment in transcript.segments:
        assert 0 <= segment.start <= segment.end
    if transcript.segments and transcript.has_timestamps:
        assert transcript.to_srt().startswith("1\n")
        assert transcript.to_vtt().startswith("WEBVTT")


def test_unknown_names_raise_a_clear_error(tiny_models):
    with pytest.raises(llm_mlx_audio.UnknownModelError, match="Unknown speech model"):
        llm_mlx_audio.get_speech_model("nope")


def test_model_lists(tiny_models):
    assert "tiny-kitten" in [m.model_id for m in llm_mlx_audio.speech_models()]
    assert "tiny-whisper" in [m.model_id for m in llm_mlx_audio.transcription_models()]
