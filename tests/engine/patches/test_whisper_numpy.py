"""Whisper's CPU path (engine/patches/whisper_numpy.py) computes what mlx-audio's fp32 model computes.

Each test loads the same tiny Whisper twice: once converted to fp32 only (the stock
MLX code path), once fully optimised (numpy attention, fast GELU, cached cross
attention, numpy decoder steps, numpy decoding rules), and compares their outputs.
"""

import sys
import types
import warnings

import numpy as np
import pytest

from llm_mlx_audio.engine import patches
from llm_mlx_audio.engine.patches import kernels as cpu_kernels
from llm_mlx_audio.engine.patches import whisper_fp32
from llm_mlx_audio.engine.patches import whisper_numpy as cpu_whisper

mx = pytest.importorskip("mlx.core")


pytestmark = pytest.mark.cpu_path

ATOL = 1e-4


def _load(folder, fast):
    from mlx_audio.stt.utils import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_model(str(folder))
    if fast:
        assert patches.adapt(model, "transcription") == {"fp16": False}
    else:
        whisper_fp32.to_fp32(model)
    return model


@pytest.fixture(scope="module", params=["tiny", "base"])
def pair(request, tiny_whisper):
    """(stock fp32, CPU path) of the tiny test Whisper, and of the real multilingual base."""
    folder = tiny_whisper if request.param == "tiny" else request.getfixturevalue("whisper_base")
    with pytest.MonkeyPatch.context() as patch:  # module scope: before speedups_on runs
        patch.delenv(patches.ENV_SWITCH, raising=False)
        return _load(folder, fast=False), _load(folder, fast=True)


def _mel(seed=3):
    rng = np.random.default_rng(seed)
    return mx.array(rng.standard_normal((1, 3000, 80)).astype(np.float32))


def _close(a, b, atol=ATOL):
    np.testing.assert_allclose(np.array(a), np.array(b), atol=atol, rtol=1e-4)


def test_every_whisper_module_gets_its_cpu_version(pair):
    stock, fast = pair
    # the classes of each module and those under it (stoppable.py swaps the encoder's and
    # the decoder's again, in front of the fast ones)
    names = {cls.__name__ for m in fast.modules() for cls in type(m).__mro__}
    assert {"FastAudioEncoder", "FastTextDecoder", "FastResidualAttentionBlock"} <= names
    assert "FastCrossAttention" in names
    assert cpu_whisper.FastWhisper in type(fast).__mro__  # under the stoppable-windows class
    # still instances of mlx-audio's classes, with the same weights
    whisper = sys.modules["mlx_audio.stt.models.whisper.whisper"]
    assert isinstance(fast, whisper.Model) and isinstance(fast.decoder, whisper.TextDecoder)
    assert not any(type(m).__name__.startswith("Fast") for m in stock.modules())


def test_encoder_output_matches_stock(pair):
    stock, fast = pair
    mel = _mel()
    _close(fast.encoder(mel), stock.encoder(mel))


def test_decoder_prompt_and_every_cached_step_match_stock(pair):
    stock, fast = pair
    features = stock.encoder(_mel(4))
    mx.eval(features)
    prompt = mx.array([[1, 7, 42]])
    results = []
    for model in (stock, fast):
        logits, cache, cross_qk = model.decoder(prompt, features)
        steps = [(logits, cross_qk)]
        for token in (5, 900, 13, 1700, 2):  # one token at a time: the numpy path
            logits, cache, cross_qk = model.decoder(mx.array([[token]]), features, kv_cache=cache)
            steps.append((logits, cross_qk))
        results.append(steps)
    for (stock_logits, stock_qk), (fast_logits, fast_qk) in zip(*results, strict=False):
        assert fast_logits.shape == stock_logits.shape
        _close(fast_logits, stock_logits)
        for a, b in zip(fast_qk, stock_qk, strict=False):
            _close(a, b)


def test_generate_gives_the_same_tokens_as_stock(pair):
    stock, fast = pair
    audio = np.random.default_rng(5).standard_normal(16000 * 3).astype(np.float32) * 0.1
    kwargs = {"fp16": False, "temperature": 0.0, "condition_on_previous_text": False}
    expected = stock.generate(audio, **kwargs)
    actual = fast.generate(audio, **kwargs)
    assert actual.text == expected.text
    assert [s["tokens"] for s in actual.segments] == [s["tokens"] for s in expected.segments]
    assert [(s["start"], s["end"]) for s in actual.segments] == [
        (s["start"], s["end"]) for s in expected.segments
    ]


def test_a_batch_of_windows_decodes_as_each_window_alone(pair):
    stock, fast = pair
    decoding = sys.modules["mlx_audio.stt.models.whisper.decoding"]
    mels = mx.concatenate([_mel(seed) for seed in (7, 8, 9)])
    options = decoding.DecodingOptions(language="en", temperature=0.0, fp16=False, sample_len=40)
    batched = fast.decode(mels, options)
    alone = [stock.decode(mels[i], options) for i in range(3)]
    assert [r.tokens for r in batched] == [r.tokens for r in alone]
    np.testing.assert_allclose([r.avg_logprob for r in batched], [r.avg_logprob for r in alone], atol=1e-3)


def test_word_timestamps_still_work_on_the_fast_model(pair):
    _, fast = pair
    audio = np.random.default_rng(6).standard_normal(16000 * 2).astype(np.float32) * 0.1
    result = fast.generate(audio, fp16=False, temperature=0.0, word_timestamps=True)
    assert isinstance(result.text, str)
    for segment in result.segments:
        for word in segment.get("words", []):
            assert word["start"] <= word["end"]


# -- the per-token rules ---------------------------------------------------------------

TIMESTAMP_BEGIN, EOT, NO_TIMESTAMPS, VOCAB = 1000, 900, 999, 1300


def _stock_rules(sample_begin, max_initial):
    from mlx_audio.stt.models.whisper.decoding import ApplyTimestampRules

    tokenizer = types.SimpleNamespace(timestamp_begin=TIMESTAMP_BEGIN, eot=EOT, no_timestamps=NO_TIMESTAMPS)
    return ApplyTimestampRules(tokenizer, sample_begin, max_initial)


SEQUENCES = [
    [],  # the first sampled token: only timestamps allowed
    [1005],  # one timestamp: must be followed by text
    [1005, 20],  # text after a timestamp
    [1005, 20, 1010],  # a timestamp after text: next is text or a closing timestamp
    [1005, 20, 1010, 1010],  # two timestamps in a row: must be text
    [1005, 20, 30, 40],
    [1000, 5, 1000],  # timestamp 0 (the "not last_timestamp" branch)
]


@pytest.mark.parametrize("sequence", SEQUENCES)
@pytest.mark.parametrize("max_initial", [None, 50])
def test_numpy_timestamp_rules_match_mlx_audio(sequence, max_initial):
    sample_begin = 2
    stock = _stock_rules(sample_begin, max_initial)
    ours = cpu_whisper._numpy_timestamp_rules(None, stock)
    rng = np.random.default_rng(len(sequence))
    for scale in (1.0, 8.0):  # 8: timestamps sometimes win the probability mass test
        logits = mx.array((rng.standard_normal((2, VOCAB)) * scale).astype(np.float32))
        tokens = mx.array([[50, 51] + sequence, [50, 51] + sequence])
        expected = np.array(stock.apply(logits, tokens))
        actual = np.array(ours.apply(logits, tokens))
        np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
        finite = np.isfinite(expected)
        np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-6)


def test_numpy_greedy_decoder_matches_mlx_audio():
    from mlx_audio.stt.models.whisper.decoding import GreedyDecoder

    rng = np.random.default_rng(8)
    stock, ours = GreedyDecoder(0.0, EOT), cpu_whisper.NumpyGreedyDecoder(EOT)
    tokens = mx.array([[50, 51, 3], [50, 51, EOT]])  # the second sequence has ended
    sums = mx.array([-1.5, -2.0])
    for _ in range(3):
        logits = mx.array(rng.standard_normal((2, VOCAB)).astype(np.float32) * 3)
        actual = ours.update(tokens, logits, sums)
        expected = stock.update(tokens, logits, sums)  # (adds to sums in place)
        assert np.array(actual[0]).tolist() == np.array(expected[0]).tolist()
        assert bool(actual[1]) == bool(expected[1])
        _close(actual[2], expected[2], atol=1e-5)
        tokens, sums = expected[0], expected[2]
    final = ours.finalize(tokens[:, None], sums)
    assert np.array(final[0])[:, :, -1].tolist() == [[EOT], [EOT]]


def test_sampling_keeps_mlx_audios_decoder(pair):
    from mlx_audio.stt.models.whisper.decoding import DecodingOptions, GreedyDecoder

    _, fast = pair
    task_class = cpu_whisper._fast_task(sys.modules[cpu_whisper._DECODING_MODULE])
    greedy = task_class(fast, DecodingOptions(temperature=0.0, fp16=False))
    sampled = task_class(fast, DecodingOptions(temperature=0.6, fp16=False))
    assert isinstance(greedy.decoder, cpu_whisper.NumpyGreedyDecoder)
    assert type(sampled.decoder) is GreedyDecoder


# -- kernels ---------------------------------------------------------------------------


def test_fast_gelu_matches_mlx_gelu():
    from mlx import nn

    x = mx.array(np.linspace(-12, 12, 200_001, dtype=np.float32))
    _close(cpu_kernels.gelu(x), nn.gelu(x), atol=2e-6)


def test_numpy_softmax_matches_mlx_and_works_in_place():
    scores = np.random.default_rng(2).standard_normal((3, 7, 50)).astype(np.float32) * 10
    expected = np.array(mx.softmax(mx.array(scores), axis=-1, precise=True))
    result = cpu_kernels.softmax_numpy(scores)
    assert result is scores
    np.testing.assert_allclose(result, expected, atol=1e-6)


def test_numpy_blas_threads_can_be_set_and_restored():
    before = cpu_kernels.set_numpy_blas_threads(1)
    if before is None:
        pytest.skip("this numpy does not bundle OpenBLAS")
    try:
        assert cpu_kernels.set_numpy_blas_threads(before) == 1
    finally:
        cpu_kernels.set_numpy_blas_threads(before)
