"""The transformers-free Whisper tokenizer answers exactly as transformers' does.

Compared on the tiny test model's tokenizer and on the real Whisper tiny.en
tokenizer (the embedded model, converted from the offline extra when installed).
"""

import random
import subprocess
import sys
import textwrap
import warnings

import pytest

from llm_mlx_audio.engine.patches import whisper_tokenizer

pytest.importorskip("transformers")


def _both(folder):
    from transformers import WhisperProcessor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = WhisperProcessor.from_pretrained(str(folder)).tokenizer
    ours = whisper_tokenizer.load_processor(folder)
    assert ours is not None
    return reference, ours.tokenizer


@pytest.fixture(scope="module")
def real_whisper_folder(tmp_path_factory):
    from llm_mlx_audio.engine.importers.ctranslate2_whisper import convert, packaged_source

    source = packaged_source()
    if source is None:
        pytest.skip("the offline extra (real Whisper tiny.en) is not installed")
    dest = tmp_path_factory.mktemp("tokenizer") / "whisper-tiny.en"
    convert(source, dest)
    return dest


@pytest.fixture(params=["tiny", "real"])
def folder(request, tiny_whisper):
    if request.param == "tiny":
        return tiny_whisper
    return request.getfixturevalue("real_whisper_folder")


SPECIAL = [
    "<|endoftext|>", "<|startoftranscript|>", "<|startofprev|>", "<|startoflm|>",
    "<|notimestamps|>", "<|nospeech|>", "<|nocaptions|>", "<|transcribe|>", "<|translate|>",
    "<|en|>", "<|de|>", "<|0.00|>", "<|1.50|>", "<|30.00|>", "not a token", "",
]  # fmt: skip

TEXTS = [
    "Hello world.", " Hello world.", "  two spaces", "Don't stop, won't stop!", "naïve café — 10% off",
    "♪♪ la la ♪♪", "日本語のテキスト", "<|endoftext|> in text", "", " ", "line\nbreak", "A.B.C. 3.14",
]  # fmt: skip


def test_ids_vocab_and_special_tokens_agree(folder):
    reference, ours = _both(folder)
    assert ours.eos_token_id == reference.eos_token_id
    assert ours.unk_token_id == reference.unk_token_id
    assert ours.get_vocab() == reference.get_vocab()
    for token in SPECIAL:
        assert ours.convert_tokens_to_ids(token) == reference.convert_tokens_to_ids(token), token


def test_encoding_agrees(folder):
    reference, ours = _both(folder)
    for text in TEXTS:
        expected = reference.encode(text, add_special_tokens=False)
        assert ours.encode(text, add_special_tokens=False) == expected, text


@pytest.mark.parametrize("skip_special_tokens", [False, True])
def test_decoding_every_token_and_mixed_sequences_agrees(folder, skip_special_tokens):
    reference, ours = _both(folder)
    vocab = reference.get_vocab()
    ids = sorted(vocab.values())
    step = max(1, len(ids) // 4000)  # every id of the tiny vocabulary, ~4000 of the real one
    for token_id in ids[::step] + ids[-1600:]:
        assert ours.decode([token_id], skip_special_tokens=skip_special_tokens) == reference.decode(
            [token_id], skip_special_tokens=skip_special_tokens
        ), token_id
    special = [vocab[t] for t in SPECIAL if t in vocab]
    rng = random.Random(7)
    for _ in range(300):
        sequence = [rng.choice(ids) for _ in range(rng.randint(0, 30))]
        for position, token in ((0, vocab["<|startofprev|>"]), (rng.randint(0, 30), rng.choice(special))):
            if rng.random() < 0.5:
                sequence.insert(min(position, len(sequence)), token)
        expected = reference.decode(sequence, skip_special_tokens=skip_special_tokens)
        assert ours.decode(sequence, skip_special_tokens=skip_special_tokens) == expected, sequence


def test_folders_it_cannot_serve_exactly_are_left_to_transformers(tmp_path, tiny_whisper):
    assert whisper_tokenizer.load_processor(tmp_path) is None  # no tokenizer.json
    (tmp_path / "tokenizer.json").write_text("{not json")
    assert whisper_tokenizer.load_processor(tmp_path) is None


def test_loading_whisper_does_not_import_transformers(tiny_whisper):
    code = textwrap.dedent(
        f"""
        import sys, warnings
        from pathlib import Path
        from llm_mlx_audio.engine.patches import lazy_packages
        from llm_mlx_audio.engine.patches.whisper_tokenizer import light_processor_for
        lazy_packages.defer_init("mlx_audio.stt.models")
        from mlx_audio.stt.utils import load_model
        with light_processor_for("whisper"):
            model = load_model(Path({str(tiny_whisper)!r}))
        import numpy as np
        text = model.generate(np.zeros(16000, dtype=np.float32)).text
        from mlx_audio.stt.models.whisper import whisper
        print(type(model._processor).__module__, "transformers" in sys.modules,
              type(whisper.Model.__dict__["post_load_hook"]).__name__,
              model.alignment_heads is not None)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "llm_mlx_audio.engine.patches.whisper_tokenizer",
        "False",
        "staticmethod",
        "True",
    ]
