"""The Silero VAD that ships with the plugin, run through mlx-audio's model on the MLX thread.

The speech probabilities must match the original runtime (onnxruntime on the ONNX
file the weights came from, in faster-whisper's wheel: a test dependency) and
mlx-audio's own chunk-by-chunk ``predict_proba``; the batched and numpy paths must
agree with the stock layers.
"""

import shutil
import subprocess

import numpy as np
import pytest

from llm_mlx_audio import assets
from llm_mlx_audio.audio.decode import decode_audio
from llm_mlx_audio.audio.speech_regions import speech_regions
from llm_mlx_audio.engine import embedded, long_form, vad
from llm_mlx_audio.engine.importers import silero_vad
from llm_mlx_audio.engine.thread import get_mlx_thread

RATE = 16000


@pytest.fixture(scope="module")
def speech_with_pauses(tmp_path_factory):
    """1 s silence, a sentence, 2 s silence, 1 s of faint noise: (samples, speech start, end)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng missing")
    path = tmp_path_factory.mktemp("vad") / "sentence.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(path), "Hello there, this is a test of the voice activity detector."],
        check=True,
    )
    sentence = decode_audio(path, RATE)
    noise = 0.01 * np.random.default_rng(0).standard_normal(RATE).astype(np.float32)
    silence = np.zeros(RATE, np.float32)
    samples = np.concatenate([silence, sentence, silence, silence, noise])
    return samples, 1.0, 1.0 + len(sentence) / RATE


@pytest.fixture(scope="module")
def vad_model(shared_user_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))  # a load may note the slow BLAS there
        with long_form.vad_model() as model:
            yield model


def _ours(model, samples, state=None, final=True):
    return get_mlx_thread().run(vad.speech_probabilities, model, samples, state, final)


def test_probabilities_match_onnxruntime_on_the_original_onnx(vad_model, speech_with_pauses):
    ort = pytest.importorskip("onnxruntime")
    source = silero_vad.packaged_source()
    if source is None:
        pytest.skip("faster-whisper is not installed (the test extra)")
    samples, _, _ = speech_with_pauses
    padded = np.pad(samples, (0, -len(samples) % 512))
    chunks = padded.reshape(-1, 512)
    context = np.concatenate([np.zeros((1, 64), np.float32), chunks[:-1, -64:]])
    session = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    zeros = np.zeros((1, 1, 128), np.float32)
    (expected, _, _) = session.run(
        None, {"input": np.concatenate([context, chunks], 1), "h": zeros, "c": zeros}
    )
    ours, _ = _ours(vad_model, samples)
    assert ours.shape == (len(chunks),)
    np.testing.assert_allclose(ours, expected.reshape(-1), atol=1e-4)
    assert expected.max() > 0.9 and expected.min() < 0.05  # the clip has speech and silence


def test_probabilities_match_mlx_audios_own_chunk_by_chunk_model(vad_model, speech_with_pauses):
    samples, _, _ = speech_with_pauses
    stock = get_mlx_thread().run(lambda: np.array(vad_model.predict_proba(samples[: 3 * RATE])))
    ours, _ = _ours(vad_model, samples[: 3 * RATE])
    np.testing.assert_allclose(ours, stock, atol=1e-5)


def test_pieces_of_a_stream_give_the_same_probabilities_as_the_whole(vad_model, speech_with_pauses):
    samples, _, _ = speech_with_pauses
    whole, _ = _ours(vad_model, samples)
    state, parts = None, []
    for start in range(0, len(samples), 7000):  # not a multiple of 512
        piece = samples[start : start + 7000]
        probabilities, state = _ours(vad_model, piece, state, start + 7000 >= len(samples))
        parts.append(probabilities)
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-6)


def test_numpy_encoder_matches_the_models_own_layers(vad_model, speech_with_pauses):
    samples, _, _ = speech_with_pauses
    windows = np.lib.stride_tricks.sliding_window_view(samples, 576)[::512][:200].copy()
    branch = vad_model.vad_16k
    stock = get_mlx_thread().run(vad._encode, branch, windows)
    numpy = get_mlx_thread().run(vad._encode_numpy, branch, windows)
    np.testing.assert_allclose(numpy, stock, rtol=1e-4, atol=1e-4)


@pytest.mark.stock_path
def test_speech_region_covers_the_sentence_and_nothing_else(vad_model, speech_with_pauses):
    samples, start, end = speech_with_pauses
    probabilities, _ = _ours(vad_model, samples)
    regions = speech_regions(probabilities, len(samples))
    assert len(regions) == 1
    found_start, found_end = (r / RATE for r in regions[0])
    assert abs(found_start - start) < 0.5 and abs(found_end - end) < 0.5, (regions, start, end)


@pytest.mark.stock_path
def test_silence_and_noise_have_no_speech(vad_model):
    rng = np.random.default_rng(1)
    for samples in (
        np.zeros(5 * RATE, np.float32),
        0.05 * rng.standard_normal(5 * RATE).astype(np.float32),
        0.3 * np.sin(2 * np.pi * 440 * np.arange(5 * RATE) / RATE).astype(np.float32),
    ):
        probabilities, _ = _ours(vad_model, samples)
        assert speech_regions(probabilities, len(samples)) == []


def test_the_vad_is_the_shipped_folder_and_nothing_is_written(user_dir):
    path = embedded.ensure_vad()
    assert path == assets.files("silero-vad")
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()
    assert list(user_dir.iterdir()) == []
    with long_form.vad_model() as model:
        probabilities, _ = _ours(model, np.zeros(RATE, np.float32))
    assert probabilities.max() < 0.05
    assert not (user_dir / "llm-mlx-audio-models").exists()
