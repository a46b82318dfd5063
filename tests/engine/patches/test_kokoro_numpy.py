"""Kokoro/kitten_tts residual blocks and plain convs in numpy (cpu_kokoro.py) match MLX.

The whole-vocoder comparison lives in test_cpu_speed.py; these tests pin down each
piece with random, non-trivial weights (Snake alphas away from 1, weight norms
away from 1, a batch of two) so that a wrong axis or a missed term cannot hide.
"""

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")

from mlx.utils import tree_flatten, tree_unflatten  # noqa: E402

from llm_mlx_audio.engine.patches import kokoro_numpy as cpu_kokoro  # noqa: E402

pytestmark = pytest.mark.cpu_path


def _randomise(module, seed):
    mx.random.seed(seed)
    params = []
    for name, value in tree_flatten(module.parameters()):
        noise = mx.random.normal(value.shape) * 0.3
        offset = 1.0 if ("alpha" in name or "weight_g" in name) else 0.0
        params.append((name, noise + offset))
    module.update(tree_unflatten(params))
    mx.eval(module.parameters())


def _block(family, channels, kernel, style):
    module = __import__(f"mlx_audio.tts.models.{family}.istftnet", fromlist=["AdaINResBlock1"])
    return module.AdaINResBlock1(channels, kernel, (1, 3, 5), style)


@pytest.mark.parametrize("family", ["kokoro", "kitten_tts"])
@pytest.mark.parametrize("kernel", [3, 7, 11])
def test_numpy_residual_block_matches_mlx(family, kernel):
    block = _block(family, 24, kernel, 8)
    _randomise(block, kernel)
    x = mx.random.normal((2, 24, 90))
    s = mx.random.normal((2, 8))
    expected = np.array(block(x, s))

    assert cpu_kokoro.optimise(block) == 1
    assert type(block).__name__ == "NumpyResBlock"
    actual = block(x, s)

    assert actual.shape == x.shape and actual.dtype == mx.float32
    np.testing.assert_allclose(np.array(actual), expected, atol=1e-4 * np.abs(expected).max(), rtol=1e-4)


def test_numpy_block_follows_replaced_weights():
    block = _block("kokoro", 16, 3, 8)
    _randomise(block, 1)
    cpu_kokoro.optimise(block)
    x, s = mx.random.normal((1, 16, 40)), mx.random.normal((1, 8))
    before = np.array(block(x, s))
    _randomise(block, 2)  # new arrays: the cached numpy kernels must be rebuilt
    after = np.array(block(x, s))
    stock = type(block).__mro__[2].__call__(block, x, s)  # mlx-audio's own __call__
    np.testing.assert_allclose(after, np.array(stock), atol=1e-4 * np.abs(after).max(), rtol=1e-4)
    assert not np.allclose(before, after)


@pytest.mark.parametrize(
    "in_ch, out_ch, kernel, padding, dilation",
    [(8, 8, 3, 1, 1), (8, 22, 7, 3, 1), (6, 10, 5, 6, 3), (4, 4, 3, 0, 1), (5, 7, 1, 0, 1)],
)
def test_numpy_conv_weighted_matches_mlx(in_ch, out_ch, kernel, padding, dilation):
    from mlx_audio.tts.models.kokoro.istftnet import ConvWeighted

    conv = ConvWeighted(in_ch, out_ch, kernel, stride=1, padding=padding, dilation=dilation)
    _randomise(conv, kernel + padding)
    x = mx.random.normal((2, 33, in_ch))
    expected = np.array(conv(x, mx.conv1d))

    actual = cpu_kokoro.conv_weighted(conv, x)

    assert actual is not None
    np.testing.assert_allclose(
        np.array(actual), expected, atol=1e-5 * max(1, np.abs(expected).max()), rtol=1e-4
    )


def test_numpy_conv_weighted_declines_what_it_does_not_compute():
    from mlx_audio.tts.models.kokoro.istftnet import ConvWeighted

    strided = ConvWeighted(4, 4, 3, stride=2, padding=1)
    grouped = ConvWeighted(4, 4, 3, padding=1, groups=2)
    plain = ConvWeighted(4, 4, 3, padding=1)
    x = mx.random.normal((1, 10, 4))
    assert cpu_kokoro.conv_weighted(strided, x) is None
    assert cpu_kokoro.conv_weighted(grouped, x) is None
    assert cpu_kokoro.conv_weighted(plain, x.astype(mx.float16)) is None
    assert cpu_kokoro.conv_weighted(plain, mx.random.normal((1, 10, 3))) is None  # channel mismatch


@pytest.mark.parametrize("family", ["kokoro", "kitten_tts"])
def test_numpy_lstm_matches_mlx_in_both_directions(family):
    module = __import__(f"mlx_audio.tts.models.{family}.modules", fromlist=["LSTM"])
    lstm = module.LSTM(12, 8)
    _randomise(lstm, 4)
    x = mx.random.normal((2, 17, 12))
    h0, c0 = mx.random.normal((2, 8)), mx.random.normal((2, 8))
    expected = lstm(x)
    expected_from_state = lstm(x, h0, c0, h0 * 0.5, c0 * 0.5)

    assert cpu_kokoro.optimise(lstm) == 1
    assert type(lstm).__name__ == "NumpyLSTM"
    actual = lstm(x)
    actual_from_state = lstm(x, h0, c0, h0 * 0.5, c0 * 0.5)

    for got, want in ((actual, expected), (actual_from_state, expected_from_state)):
        output, ((fh, fc), (bh, bc)) = got
        want_output, ((wfh, wfc), (wbh, wbc)) = want
        for a, b in ((output, want_output), (fh, wfh), (fc, wfc), (bh, wbh), (bc, wbc)):
            assert a.shape == b.shape
            np.testing.assert_allclose(np.array(a), np.array(b), atol=2e-6, rtol=1e-5)


def test_fake_quantised_kitten_lstm_keeps_mlx():
    from mlx_audio.tts.models.kitten_tts.modules import LSTM

    lstm = LSTM(4, 4)
    lstm.activation_quant = True
    assert cpu_kokoro.optimise(lstm) == 0
    assert type(lstm) is LSTM


def test_the_sgemm_the_convs_use_accumulates_in_place_without_importing_scipy_linalg():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from llm_mlx_audio.engine.patches import kernels\n"
        "a = np.arange(12, dtype=np.float32).reshape(3, 4); b = np.ones((4, 2), np.float32)\n"
        "c = np.asfortranarray(np.full((3, 2), 10, np.float32))\n"
        "kernels.sgemm()(1.0, a, b, beta=1.0, c=c, overwrite_c=1)\n"
        "print(c.tolist(), 'scipy.linalg' in sys.modules)\n"
        "import scipy.linalg.blas\n"
        "print(scipy.linalg.blas.sgemm is kernels.sgemm())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[[16.0, 16.0], [32.0, 32.0], [48.0, 48.0]] False", "True"]
