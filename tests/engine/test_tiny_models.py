"""The tiny test models load and run through mlx-audio exactly as real models do.

Other tests lean on these models, so what they promise is pinned here: mlx-audio's
own loaders take the folders without a warning, Whisper returns well-formed
transcripts (with and without word timestamps), and kitten_tts speaks finite,
audible audio whose length follows the text and the speed.

Every MLX step (build, load, generate) runs on pytest's main thread: MLX streams
belong to the thread that made them.
"""

import math
import warnings

import numpy as np
import pytest

pytest.importorskip("mlx.core")
pytest.importorskip("mlx_audio")

import tiny_models  # noqa: E402

SAMPLE_RATE = 16000


def _load_quietly(loader, path, capfd):
    """Load through mlx-audio's loader; return the model and every warning or output seen."""
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = loader(path)
    out, err = capfd.readouterr()
    return model, [str(w.message) for w in caught], out + err


def _silence(seconds=2.0):
    return np.zeros(int(SAMPLE_RATE * seconds), np.float32)


def _sine(seconds=2.0, hz=440.0):
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


# -- Whisper -------------------------------------------------------------------


@pytest.fixture(scope="module")
def whisper_path(tmp_path_factory):
    return tiny_models.build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="module")
def whisper(whisper_path):
    from mlx_audio.stt.utils import load_model

    return load_model(whisper_path)


def test_tiny_whisper_loads_through_mlx_audio_without_warnings(whisper_path, capfd):
    from mlx_audio.stt.models.whisper.whisper import Model
    from mlx_audio.stt.utils import load_model

    model, caught, output = _load_quietly(load_model, whisper_path, capfd)

    assert isinstance(model, Model)
    assert caught == []
    assert output == ""
    assert model._processor is not None


def test_tiny_whisper_tokenizer_has_whisper_layout(whisper):
    tokenizer = whisper.get_tokenizer(language="en")
    vocabulary = tiny_models.whisper_vocabulary()

    assert whisper.dims.n_vocab == len(vocabulary)
    assert not whisper.is_multilingual
    assert tokenizer.eot < tokenizer.sot < tokenizer.translate < tokenizer.transcribe
    assert tokenizer.transcribe < tokenizer.no_timestamps < tokenizer.timestamp_begin
    assert tokenizer.no_speech == vocabulary.index("<|nocaptions|>")
    assert tokenizer.timestamp_begin + 1500 == len(vocabulary) - 1  # <|30.00|> is last
    assert tokenizer.decode(tokenizer.encode(" Hello, world!")) == " Hello, world!"


@pytest.mark.parametrize("audio", [_silence(), _sine()], ids=["silence", "sine"])
def test_tiny_whisper_transcribes_to_text_segments_and_language(whisper, audio):
    result = whisper.generate(audio, verbose=None, language="en", temperature=0.0)

    assert isinstance(result.text, str) and result.text.strip()
    assert result.language == "en"
    assert len(result.segments) >= 1
    for segment in result.segments:
        assert isinstance(segment["text"], str)
        assert 0.0 <= segment["start"] <= segment["end"]
        assert math.isfinite(segment["avg_logprob"])
    assert "".join(s["text"] for s in result.segments) == result.text


def test_tiny_whisper_word_timestamps_give_timed_words(whisper):
    result = whisper.generate(_sine(), verbose=None, language="en", word_timestamps=True, temperature=0.0)

    words = [word for segment in result.segments for word in segment["words"]]
    assert words
    for word in words:
        assert isinstance(word["word"], str)
        assert 0.0 <= word["start"] <= word["end"]
        assert 0.0 <= word["probability"] <= 1.0


def test_tiny_whisper_without_language_reports_english(whisper):
    result = whisper.generate(_silence(), verbose=None, language=None, temperature=0.0)

    assert result.language == "en"


def test_tiny_whisper_long_audio_gives_one_segment_per_window(whisper):
    result = whisper.generate(_sine(35.0), verbose=None, language="en", temperature=0.0)

    assert [segment["start"] for segment in result.segments] == [0.0, 30.0]


def test_tiny_whisper_same_seed_builds_same_weights(tmp_path):
    first = tiny_models.build_tiny_whisper(tmp_path / "a", seed=3)
    second = tiny_models.build_tiny_whisper(tmp_path / "b", seed=3)
    other = tiny_models.build_tiny_whisper(tmp_path / "c", seed=4)

    weights = (first / "model.safetensors").read_bytes()
    assert weights == (second / "model.safetensors").read_bytes()
    assert weights != (other / "model.safetensors").read_bytes()


# -- kitten_tts ------------------------------------------------------------------


@pytest.fixture(scope="module")
def kitten_path(tmp_path_factory):
    return tiny_models.build_tiny_kitten(tmp_path_factory.mktemp("tiny-kitten"))


@pytest.fixture(scope="module")
def kitten(kitten_path):
    from mlx_audio.tts.utils import load_model

    return load_model(kitten_path)


def _speak(model, text, voice="expr-voice-5-m", speed=1.0):
    results = list(model.generate(text, voice=voice, speed=speed))
    assert results
    assert all(result.sample_rate == 24000 for result in results)
    return np.concatenate([np.array(result.audio) for result in results])


def test_tiny_kitten_loads_through_mlx_audio_without_warnings(kitten_path, capfd):
    from mlx_audio.tts.models.kitten_tts.kitten_tts import Model
    from mlx_audio.tts.utils import load_model

    model, caught, output = _load_quietly(load_model, kitten_path, capfd)

    assert isinstance(model, Model)
    assert caught == []
    assert output == ""
    assert sorted(model.voices) == sorted(tiny_models.KITTEN_VOICES)


@pytest.mark.parametrize("voice", tiny_models.KITTEN_VOICES)
def test_tiny_kitten_speaks_finite_audible_audio_in_each_voice(kitten, voice):
    audio = _speak(kitten, "Hello world.", voice=voice)

    assert np.isfinite(audio).all()
    assert np.sqrt(np.mean(audio**2)) > 0.01
    assert np.abs(audio).max() < 1.0


def test_tiny_kitten_same_text_and_voice_give_identical_audio(kitten):
    first = _speak(kitten, "Hello world.")
    second = _speak(kitten, "Hello world.")

    assert np.array_equal(first, second)


def test_tiny_kitten_voices_sound_different(kitten):
    first, second = (_speak(kitten, "Hello world.", voice=v) for v in tiny_models.KITTEN_VOICES)

    assert first.shape != second.shape or not np.allclose(first, second, atol=1e-3)


def test_tiny_kitten_longer_text_gives_more_samples(kitten):
    short = _speak(kitten, "Hello.")
    long = _speak(kitten, "Hello there, this is a longer sentence.")

    assert len(long) > 2 * len(short)


def test_tiny_kitten_speed_two_gives_fewer_samples_than_speed_one(kitten):
    text = "Hello there, this is a test."
    normal = _speak(kitten, text, speed=1.0)
    fast = _speak(kitten, text, speed=2.0)

    assert len(fast) < 0.75 * len(normal)


def test_tiny_kitten_same_seed_builds_same_weights_and_voices(tmp_path):
    first = tiny_models.build_tiny_kitten(tmp_path / "a", seed=3)
    second = tiny_models.build_tiny_kitten(tmp_path / "b", seed=3)

    assert (first / "model.safetensors").read_bytes() == (second / "model.safetensors").read_bytes()
    with np.load(first / "voices.npz") as a, np.load(second / "voices.npz") as b:
        assert a.files == b.files
        assert all(np.array_equal(a[name], b[name]) for name in a.files)


def test_tiny_kitten_writes_the_voices_asked_for(tmp_path):
    path = tiny_models.build_tiny_kitten(tmp_path / "k", voices=("a-voice", "b-voice", "c-voice"))

    with np.load(path / "voices.npz") as voices:
        assert sorted(voices.files) == ["a-voice", "b-voice", "c-voice"]
        assert all(voices[name].shape == (400, 256) for name in voices.files)
