"""The GE2E speaker encoder that ships with the plugin (resemblyzer's), run as an MLX model.

The original runtime is torch (gigabytes, not installable here), so the reference is
written from the definitions instead: resemblyzer's features as resemblyzer computes
them (librosa's melspectrogram, a test dependency) and PyTorch's LSTM equations
(gates i, f, g, o) over the shipped weights. The MLX model must give the same vectors
(cosine above 0.99; in fact 1 - 1e-6). That the shipped weights are resemblyzer's is
checked in importers/test_shipped_assets.py; the legacy torch.save reader that
converted them, here.
"""

import collections
import pickle
import sys
import types

import numpy as np
import pytest
from safetensors.numpy import load_file
from spoken_clips import HAVE_ESPEAK, speech_samples

from llm_mlx_audio import assets
from llm_mlx_audio.engine import diarization, embedded, speaker_encoder
from llm_mlx_audio.engine.importers import resemblyzer_ge2e, torch_legacy
from llm_mlx_audio.engine.thread import get_mlx_thread

SOURCE = resemblyzer_ge2e.packaged_source()  # only where resemblyzer's wheel happens to be installed


@pytest.fixture(scope="module")
def state():
    """The shipped weights, by their MLX names (each LSTM layer's two biases already summed)."""
    return load_file(str(embedded.ensure_speaker_encoder() / "model.safetensors"))


@pytest.fixture(scope="module")
def encoder():
    return speaker_encoder.load_model(embedded.ensure_speaker_encoder())


def test_the_encoder_is_the_shipped_folder_and_nothing_is_written(user_dir):
    path = embedded.ensure_speaker_encoder()
    assert path == assets.files("ge2e-speaker-encoder")
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()
    assert list(user_dir.iterdir()) == []


def test_the_shipped_encoder_loads_through_the_pool_and_runs_on_the_mlx_thread(encoder, user_dir):
    windows = [0.1 * np.random.default_rng(2).standard_normal(24000).astype(np.float32)]
    with diarization.speaker_model() as model:
        vectors = get_mlx_thread().run(speaker_encoder.embed, model, windows)
    np.testing.assert_allclose(vectors, speaker_encoder.embed(encoder, windows), atol=1e-5)
    assert not (user_dir / "llm-mlx-audio-models").exists()


@pytest.mark.skipif(SOURCE is None, reason="resemblyzer's wheel is not installed")
def test_the_legacy_torch_file_reads_without_torch():
    state = torch_legacy.load(SOURCE)["model_state"]
    assert state["lstm.weight_ih_l0"].shape == (1024, 40)
    assert state["lstm.weight_hh_l2"].shape == (1024, 256)
    assert state["linear.weight"].shape == (256, 256)
    assert all(v.dtype == np.float32 for v in state.values())
    # views into one shared storage land at their own offsets
    assert not np.array_equal(state["lstm.bias_ih_l0"], state["lstm.bias_hh_l0"])


def test_a_weights_file_that_names_other_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        for header in (torch_legacy.MAGIC, torch_legacy.PROTOCOL, {"little_endian": True}):
            pickle.dump(header, f)
        f.write(b"cos\nsystem\n(S'echo owned'\ntR.")  # a classic pickle calling os.system
    with pytest.raises(pickle.UnpicklingError, match="refusing to load os.system"):
        torch_legacy.load(path)
    with open(path, "wb") as f:  # the same, in the very first pickle (the magic number's place)
        f.write(b"cos\nsystem\n(S'echo owned'\ntR.")
    with pytest.raises(pickle.UnpicklingError, match="refusing to load os.system"):
        torch_legacy.load(path)


def _write_legacy(path, tensors):
    """tensors as torch 1.x's torch.save wrote them (five pickles, then each storage's
    bytes), with stand-ins for torch's classes, so the file names them as torch does."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        pass

    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2, torch._utils = FloatStorage, _rebuild_tensor_v2, utils

    class Storage:
        def __init__(self, key, data):
            self.key, self.data = key, data

    class Tensor:
        def __init__(self, storage, offset, size, stride):
            self.args = storage, offset, size, stride

        def __reduce__(self):
            return _rebuild_tensor_v2, (*self.args, False, collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", FloatStorage, obj.key, "cpu", obj.data.size)
            return None

    storages, state = {}, collections.OrderedDict()
    for name, (key, offset, size, stride) in tensors.items():
        storages.setdefault(key, Storage(str(key), np.arange(key * 100, key * 100 + 64, dtype="<f4")))
        state[name] = Tensor(storages[key], offset, size, stride)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "torch", torch)
        patch.setitem(sys.modules, "torch._utils", utils)
        with open(path, "wb") as f:
            for header in (torch_legacy.MAGIC, torch_legacy.PROTOCOL, {"little_endian": True}):
                pickle.dump(header, f, protocol=2)
            Pickler(f, protocol=2).dump({"model_state": state})
            pickle.dump([storage.key for storage in storages.values()], f, protocol=2)
            for storage in storages.values():
                f.write(np.int64(storage.data.size).tobytes() + storage.data.tobytes())


def test_a_legacy_file_reads_views_strides_and_shared_storages(tmp_path):
    path = tmp_path / "weights.pt"
    _write_legacy(
        path,
        {
            "a": (0, 0, (4, 8), (8, 1)),
            "b": (0, 32, (8,), (1,)),  # the same storage, further on
            "c": (1, 2, (3, 4), (1, 3)),  # a transposed view
        },
    )
    loaded = torch_legacy.load(path)["model_state"]
    np.testing.assert_array_equal(loaded["a"], np.arange(32, dtype=np.float32).reshape(4, 8))
    np.testing.assert_array_equal(loaded["b"], np.arange(32, 40, dtype=np.float32))
    np.testing.assert_array_equal(loaded["c"], np.arange(102, 114, dtype=np.float32).reshape(4, 3).T)
    assert all(v.dtype == np.float32 for v in loaded.values())


def reference_embedding(state, samples):
    """resemblyzer's VoiceEncoder on one window, from its definitions (no torch)."""
    import librosa

    level = 10 ** (speaker_encoder.TARGET_DBFS / 20) / np.sqrt(np.mean(samples.astype(np.float64) ** 2))
    mels = librosa.feature.melspectrogram(
        y=samples * level, sr=16000, n_fft=400, hop_length=160, n_mels=40
    ).T.astype(np.float64)
    x = mels
    for layer in range(3):
        w_ih, w_hh, b = (state[f"lstm.{layer}.{name}"] for name in ("Wx", "Wh", "bias"))
        h, c, out = np.zeros(256), np.zeros(256), []
        for frame in x:
            i, f, g, o = np.split(w_ih @ frame + w_hh @ h + b, 4)
            c = 1 / (1 + np.exp(-f)) * c + 1 / (1 + np.exp(-i)) * np.tanh(g)
            h = 1 / (1 + np.exp(-o)) * np.tanh(c)
            out.append(h)
        x = np.array(out)
    raw = np.maximum(state["linear.weight"] @ x[-1] + state["linear.bias"], 0)
    return raw / np.linalg.norm(raw)


@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng missing")
@pytest.mark.parametrize("use_numpy", [False, True], ids=["mlx", "numpy-cpu-path"])
def test_the_shipped_encoder_matches_the_original_network(encoder, state, use_numpy):
    pytest.importorskip("librosa")
    windows = [
        speech_samples(text)[:24000] for text in ("Please send me the report.", "The weather is cold.")
    ]
    ours = speaker_encoder.embed(encoder, windows, use_numpy=use_numpy)
    for vector, window in zip(ours, windows, strict=True):
        assert float(vector @ reference_embedding(state, window)) > 0.99


def test_the_mlx_and_numpy_paths_agree_on_a_batch(encoder):
    rng = np.random.default_rng(0)
    windows = [0.1 * rng.standard_normal(24000).astype(np.float32) for _ in range(5)] + [
        0.1 * rng.standard_normal(9000).astype(np.float32)
    ]
    mlx = speaker_encoder.embed(encoder, windows, use_numpy=False)
    cpu = speaker_encoder.embed(encoder, windows, use_numpy=True)
    np.testing.assert_allclose(mlx, cpu, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(mlx, axis=1), 1.0, atol=1e-5)


@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng missing")
def test_one_voice_is_closer_to_itself_than_to_another(encoder):
    def vector(text, voice):
        return speaker_encoder.embed(encoder, [speech_samples(text, voice=voice)[:24000]])[0]

    male_a = vector("Please send me the report before the meeting.", "en-us+m1")
    male_b = vector("The weather has been cold and windy all week.", "en-us+m1")
    female = vector("The weather has been cold and windy all week.", "en-us+f4")
    assert male_a @ male_b > male_a @ female + 0.15


def test_mel_features_are_librosas():
    librosa = pytest.importorskip("librosa")
    from llm_mlx_audio.audio.mel_features import mel_filters, mel_power

    samples = 0.1 * np.random.default_rng(1).standard_normal(16000 * 2).astype(np.float32)
    expected = librosa.feature.melspectrogram(y=samples, sr=16000, n_fft=400, hop_length=160, n_mels=40).T
    np.testing.assert_allclose(mel_power(samples), expected, rtol=1e-4, atol=1e-6 * expected.max())
    np.testing.assert_allclose(mel_filters(), librosa.filters.mel(sr=16000, n_fft=400, n_mels=40), atol=1e-7)
