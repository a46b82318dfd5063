"""The CPU speed-ups: same numbers as MLX's own kernels, on real MLX models.

Every comparison is against MLX itself (mx.conv1d, mx.conv_transpose1d, the model
before optimisation). The BLAS preload can only be seen in a fresh process, so those
tests run a subprocess.
"""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from llm_mlx_audio.engine import patches
from llm_mlx_audio.engine.patches import vocoder_convs

mx = pytest.importorskip("mlx.core")


pytestmark = pytest.mark.cpu_path

TOLERANCE = 1e-5


def _random(shape, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return mx.array((rng.standard_normal(shape) * scale).astype(np.float32))


def _assert_close(actual, expected):
    assert actual.shape == expected.shape
    np.testing.assert_allclose(np.array(actual), np.array(expected), atol=TOLERANCE, rtol=TOLERANCE)


# Kokoro / kitten_tts resblocks: kernels 3, 7, 11 with dilations 3 and 5, "same"
# padding; plus unpadded, short, batched and grouped variants.
DILATED = [
    # (batch, length, in, out, kernel, dilation, padding, groups)
    (1, 64, 16, 16, 3, 3, 3, 1),
    (1, 64, 16, 16, 7, 3, 9, 1),
    (1, 64, 16, 16, 11, 5, 25, 1),
    (1, 61, 8, 12, 7, 5, 15, 1),
    (2, 40, 8, 8, 3, 5, 0, 1),
    (1, 12, 8, 8, 11, 5, 25, 1),
    (1, 9, 4, 4, 3, 3, 0, 1),
    (1, 50, 8, 8, 3, 3, 3, 2),
    (1, 50, 8, 8, 7, 3, 9, 8),
]


@pytest.mark.parametrize("batch,length,cin,cout,kernel,dilation,padding,groups", DILATED)
def test_fast_dilated_conv_matches_mlx_conv1d(batch, length, cin, cout, kernel, dilation, padding, groups):
    x = _random((batch, length, cin), 1)
    w = _random((cout, kernel, cin // groups), 2, scale=(kernel * cin / groups) ** -0.5)
    expected = mx.conv1d(x, w, padding=padding, dilation=dilation, groups=groups)
    actual = vocoder_convs.fast_conv1d(x, w, padding=padding, dilation=dilation, groups=groups)
    _assert_close(actual, expected)


# Kokoro's generator upsamplers (k20 s10 p5, k12 s6 p3), the depthwise "pool" of the
# upsampling AdainResBlk1d (k3 s2, unpadded), and odd cases: kernel shorter than the
# stride, output_padding, grouped but not depthwise, a single input frame.
TRANSPOSED = [
    # (batch, length, in, out, kernel, stride, padding, output_padding, groups)
    (1, 20, 16, 8, 20, 10, 5, 0, 1),
    (1, 20, 16, 8, 12, 6, 3, 0, 1),
    (2, 15, 12, 12, 3, 2, 0, 0, 12),
    (1, 15, 12, 12, 3, 2, 1, 1, 12),
    (1, 9, 4, 6, 5, 2, 2, 1, 1),
    (1, 9, 4, 6, 2, 3, 0, 0, 1),
    (1, 9, 8, 8, 4, 4, 0, 0, 2),
    (1, 1, 4, 6, 7, 3, 1, 0, 1),
    (1, 9, 4, 6, 7, 3, 1, 2, 1),
]


@pytest.mark.parametrize("batch,length,cin,cout,kernel,stride,padding,output_padding,groups", TRANSPOSED)
def test_fast_transposed_conv_matches_mlx_conv_transpose1d(
    batch, length, cin, cout, kernel, stride, padding, output_padding, groups
):
    x = _random((batch, length, cin), 3)
    w = _random((cout, kernel, cin // groups), 4, scale=(kernel * cin / groups) ** -0.5)
    options = {"stride": stride, "padding": padding, "output_padding": output_padding, "groups": groups}
    expected = mx.conv_transpose1d(x, w, **options)
    actual = vocoder_convs.fast_conv_transpose1d(x, w, **options)
    _assert_close(actual, expected)


# -- Kokoro / kitten_tts ----------------------------------------------------------

ISTFTNET = {
    "resblock_kernel_sizes": [3, 7, 11],
    "upsample_rates": [10, 6],
    "upsample_initial_channel": 32,
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "upsample_kernel_sizes": [20, 12],
    "gen_istft_n_fft": 20,
    "gen_istft_hop_size": 5,
}
STYLE = 16


def _tiny_kokoro_generator():
    from mlx_audio.tts.models.kokoro.istftnet import Generator

    mx.random.seed(0)
    generator = Generator(style_dim=STYLE, **ISTFTNET)
    inputs = (_random((1, 32, 24), 5), _random((1, STYLE), 6), mx.abs(_random((1, 24), 7)) * 200)
    return generator, inputs


def _tiny_kitten_decoder():
    from mlx_audio.tts.models.kitten_tts.kitten_tts import KittenDecoder

    mx.random.seed(0)
    decoder = KittenDecoder(
        dim_in=16, style_dim=STYLE, max_conv_dim=32, decoder_out_dim=32, asr_res_dim=8, istftnet=ISTFTNET
    )
    inputs = (
        _random((1, 16, 12), 5),
        mx.abs(_random((1, 24), 7)) * 200,
        _random((1, 24), 8),
        _random((1, STYLE), 6),
    )
    return decoder, inputs


def _calm(module):
    # Random weights grow the signal block after block until exp() of the predicted
    # spectrum overflows into NaN audio; these scales keep it near +-3 (seeded init).
    for conv in module.modules():
        if type(conv).__name__ == "ConvWeighted":
            conv.weight_g = conv.weight_g * 0.3
    generator = getattr(module, "generator", module)
    generator.conv_post.weight_g = generator.conv_post.weight_g * 0.01
    mx.eval(module.parameters())


def _audio(module, inputs):
    mx.random.seed(0)  # the harmonic source draws noise
    out = module(*inputs)
    mx.eval(out)
    return np.array(out)


@pytest.mark.parametrize(
    "build", [_tiny_kokoro_generator, _tiny_kitten_decoder], ids=["kokoro", "kitten_tts"]
)
def test_speech_vocoder_with_fast_convs_matches_stock(build):
    module, inputs = build()
    _calm(module)
    stock = _audio(module, inputs)
    assert np.isfinite(stock).all() and np.abs(stock).max() > 0

    assert patches.adapt(module, "speech") == {}

    assert all(type(m).__name__ != "ConvWeighted" for m in module.modules())
    fast = _audio(module, inputs)
    np.testing.assert_allclose(fast, stock, atol=1e-4 * np.abs(stock).max(), rtol=1e-4)


def test_switch_off_leaves_speech_convs_stock(monkeypatch):
    monkeypatch.setenv(patches.ENV_SWITCH, "0")
    module, _ = _tiny_kokoro_generator()
    before = [type(m) for m in module.modules()]
    assert patches.adapt(module, "speech") == {}
    assert [type(m) for m in module.modules()] == before


# -- Whisper ------------------------------------------------------------------------

TINY_WHISPER = {
    "model_type": "whisper", "n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 64,
    "n_audio_head": 2, "n_audio_layer": 1, "n_vocab": 1766, "n_text_ctx": 64,
    "n_text_state": 64, "n_text_head": 2, "n_text_layer": 1,
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_whisper_dir(tmp_path_factory):
    from mlx_audio.stt.models.whisper.whisper import Model, ModelDimensions

    folder = tmp_path_factory.mktemp("tiny-whisper")
    mx.random.seed(1)
    Model(ModelDimensions.from_dict(TINY_WHISPER)).save_weights(str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(TINY_WHISPER))
    return folder


def _load_whisper(folder):
    from mlx_audio.stt.utils import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no WhisperProcessor files: forward passes only
        return load_model(str(folder))


def _whisper_forward(model):
    mel = _random((1, 3000, 80), 9).astype(model.dtype)
    tokens = mx.array([[1, 5, 77, 300, 1200]])
    features = model.encoder(mel)
    logits = model.decoder(tokens, features)[0]
    mx.eval(features, logits)
    return features, logits


def _parameter_dtypes(model):
    from mlx.utils import tree_flatten

    return {value.dtype for _, value in tree_flatten(model.parameters())}


def test_whisper_is_converted_to_fp32_and_asks_for_fp16_false(tiny_whisper_dir):
    model = _load_whisper(tiny_whisper_dir)
    assert _parameter_dtypes(model) == {mx.float16}

    assert patches.adapt(model, "transcription") == {"fp16": False}

    assert _parameter_dtypes(model) == {mx.float32}
    assert model.dtype == mx.float32
    assert model.encoder._positional_embedding.dtype == mx.float32
    assert model.decoder._mask.dtype == mx.float32


def test_fp32_whisper_forward_matches_fp16(tiny_whisper_dir):
    model = _load_whisper(tiny_whisper_dir)
    features16, logits16 = _whisper_forward(model)
    patches.adapt(model, "transcription")
    features32, logits32 = _whisper_forward(model)

    # generate(fp16=False) refuses features of any other dtype
    assert features32.dtype == mx.float32 and logits32.dtype == mx.float32
    np.testing.assert_allclose(np.array(features32), np.array(features16.astype(mx.float32)), atol=2e-2)
    np.testing.assert_allclose(np.array(logits32), np.array(logits16.astype(mx.float32)), atol=5e-2)


def test_quantised_whisper_is_dequantised_to_fp32(tiny_whisper_dir):
    from mlx import nn

    model = _load_whisper(tiny_whisper_dir)
    nn.quantize(model, group_size=64, bits=8)
    _, logits_quantised = _whisper_forward(model)

    patches.adapt(model, "transcription")

    kinds = {type(m).__name__ for m in model.modules()}
    assert not {"QuantizedLinear", "QuantizedEmbedding"} & kinds
    assert _parameter_dtypes(model) == {mx.float32}
    _, logits = _whisper_forward(model)
    np.testing.assert_allclose(np.array(logits), np.array(logits_quantised.astype(mx.float32)), atol=5e-2)


def test_fp32_whisper_generates_with_the_returned_kwargs(tiny_whisper):
    from mlx_audio.stt.utils import load_model

    model = load_model(str(tiny_whisper))  # the shared tiny Whisper has processor files
    extra = patches.adapt(model, "transcription")
    audio = np.array(_random((16000 * 2,), 10, scale=0.1))

    result = model.generate(audio, **extra)

    assert isinstance(result.text, str) and result.segments


def test_switch_off_leaves_whisper_fp16(tiny_whisper_dir, monkeypatch):
    monkeypatch.setenv(patches.ENV_SWITCH, "0")
    model = _load_whisper(tiny_whisper_dir)
    assert patches.adapt(model, "transcription") == {}
    assert _parameter_dtypes(model) == {mx.float16}


def test_unknown_model_is_left_untouched():
    from mlx import nn

    model = nn.Sequential(nn.Conv1d(4, 4, 3, dilation=3), nn.Linear(4, 4))
    model.set_dtype(mx.float16)
    assert patches.adapt(model, "speech") == {}
    assert patches.adapt(model, "transcription") == {}
    assert _parameter_dtypes(model) == {mx.float16}
    assert [type(m).__name__ for m in model.modules()] == ["Sequential", "Linear", "Conv1d"]


def test_optimise_model_rejects_unknown_kind():
    from mlx import nn

    with pytest.raises(ValueError, match="kind"):
        patches.adapt(nn.Linear(2, 2), "music")


@pytest.mark.parametrize("value", ["0", "false", "OFF", "no"])
def test_switch_off_disables(monkeypatch, value):
    monkeypatch.setenv(patches.ENV_SWITCH, value)
    assert patches.enabled() is False
    assert patches.describe()["enabled"] is False


def test_enabled_by_default_on_linux_cpu():
    assert patches.enabled() is True


# -- BLAS preload (fresh processes) -----------------------------------------------------


def _run_fresh(code, **env):
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        check=False,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


PRELOAD = """
    import json, os, sys
    from llm_mlx_audio.engine import patches
    assert "mlx.core" not in sys.modules
    path = patches.prepare_mlx()
    again = patches.prepare_mlx()
    maps = open("/proc/self/maps").read()
    import numpy as np
    import mlx.core as mx
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 200), np.float32), rng.standard_normal((200, 100), np.float32)
    error = float(np.abs(np.array(mx.array(a) @ mx.array(b)) - a @ b).max())
    print(json.dumps({"path": path, "again": again, "mapped": bool(path) and os.path.realpath(path) in maps,
                      "error": error, "describe": patches.describe()}))
"""


def _openblas_installed():
    return any(os.path.exists(p) for p in patches.blas._blas_candidates() if os.sep in p)


@pytest.mark.skipif(not _openblas_installed(), reason="no OpenBLAS here (Debian: libopenblas0-pthread)")
def test_prepare_mlx_loads_openblas_before_mlx_and_matmul_stays_correct():
    result = _run_fresh(PRELOAD, **{patches.ENV_SWITCH: "1"})
    assert result["path"] and "blas" in os.path.basename(result["path"])
    assert result["again"] == result["path"]
    assert result["mapped"]
    assert result["describe"]["blas"] == result["path"]
    assert result["error"] < 1e-3


def test_prepare_mlx_does_nothing_when_switched_off():
    result = _run_fresh(PRELOAD, **{patches.ENV_SWITCH: "0"})
    assert result["path"] is None
    assert result["error"] < 1e-3


def test_prepare_mlx_after_mlx_import_returns_none():
    code = """
        import json
        import mlx.core
        from llm_mlx_audio.engine import patches
        print(json.dumps({"path": patches.prepare_mlx()}))
    """
    assert _run_fresh(code, **{patches.ENV_SWITCH: "1"})["path"] is None


def test_importing_the_patches_does_not_import_mlx():
    code = """
        import json, sys
        from llm_mlx_audio.engine import patches
        heavy = ("mlx", "mlx_audio", "transformers", "sounddevice", "av", "onnxruntime")
        print(json.dumps({"heavy": [m for m in heavy if m in sys.modules]}))
    """
    assert _run_fresh(code)["heavy"] == []
