"""`llm audio doctor` and the one-time notice when MLX runs on the slow reference BLAS."""

import json
import sys

import numpy as np
import pytest
from llm_runner import llm_subprocess

from llm_mlx_audio.audio.encode import encode_audio

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reference BLAS is Linux's")


def test_doctor_prints_one_screen_and_exits_0(tiny_models):
    result = llm_subprocess("audio", "doctor")
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    for label in ("Machine", "MLX", "CPU speed-ups", "English G2P", "Audio devices", "Models", "Defaults"):
        assert label in text
    assert "tiny-kitten (speech)" in text and "tiny-whisper (transcription)" in text


def test_doctor_json_is_for_scripts(tiny_models):
    result = llm_subprocess("audio", "doctor", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mlx"]["installed"] is True
    assert report["defaults"] == {"speech": "tiny-kitten", "transcription": "tiny-whisper"}
    kitten = [m for m in report["models"] if m["id"] == "tiny-kitten"][0]
    assert kitten["present"] and kitten["bytes"] > 0


@linux_only
def test_doctor_names_the_slow_blas_and_the_fix(tiny_models):
    result = llm_subprocess("audio", "doctor", "--json", env={"LLM_MLX_AUDIO_BLAS": "none"})
    blas = json.loads(result.stdout)["mlx"]["blas"]
    assert blas["fast"] is False and blas["fix"]


@linux_only
def test_the_slow_path_is_noticed_once_per_user_directory(tiny_models, tmp_path, user_dir):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(encode_audio(np.zeros(16000, np.float32), 16000, "wav"))
    slow = {"LLM_MLX_AUDIO_BLAS": "none"}
    first = llm_subprocess("transcribe", str(clip), env=slow)
    assert first.returncode == 0, first.stderr
    lines = first.stderr.decode().splitlines()
    assert len(lines) == 1 and "slow reference BLAS" in lines[0] and "llm audio doctor" in lines[0]
    again = llm_subprocess("transcribe", str(clip), env=slow)
    assert again.returncode == 0 and again.stderr == b""
    assert (user_dir / "llm-mlx-audio-slow-blas-noticed").exists()


@linux_only
def test_json_output_never_carries_the_notice(tiny_models, tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(encode_audio(np.zeros(16000, np.float32), 16000, "wav"))
    result = llm_subprocess("transcribe", str(clip), "--format", "json", env={"LLM_MLX_AUDIO_BLAS": "none"})
    assert result.returncode == 0 and result.stderr == b""
    json.loads(result.stdout)


def test_doctor_says_the_helper_models_ship_with_the_plugin(tiny_models, user_dir):
    from llm_mlx_audio import assets

    helpers = json.loads(llm_subprocess("audio", "doctor", "--json").stdout)["helpers"]
    assert helpers["vad"]["state"] == helpers["speaker_encoder"]["state"] == "shipped"
    assert helpers["vad"]["path"] == str(assets.files("silero-vad"))
    assert helpers["vad"]["licence"] == "MIT" and helpers["vad"]["bytes"] > 1_000_000
    assert helpers["speaker_encoder"]["path"] == str(assets.files("ge2e-speaker-encoder"))
    assert helpers["speaker_encoder"]["licence"] == "Apache-2.0"
    assert helpers["speaker_encoder"]["bytes"] > 5_000_000  # 1.4 M float32 weights
    screen = llm_subprocess("audio", "doctor").stdout.decode()
    assert "Silero VAD: shipped with the plugin (2.1 MB, MIT)" in screen
    assert "GE2E speaker encoder (--diarize): shipped with the plugin (5.4 MB, Apache-2.0)" in screen
    assert not (user_dir / "llm-mlx-audio-models" / "silero-vad").exists()


def test_a_helper_model_missing_from_a_damaged_installation_is_named(monkeypatch, tmp_path):
    from llm_mlx_audio import registry
    from llm_mlx_audio.commands.doctor import _screen
    from llm_mlx_audio.engine import embedded

    monkeypatch.setattr(embedded, "ensure_vad", lambda: tmp_path)  # an empty folder
    report = registry.doctor_report()
    fix = "pip install --force-reinstall llm-mlx-audio"
    assert report["helpers"]["vad"] == {"state": "missing", "path": str(tmp_path), "fix": fix}
    assert report["helpers"]["speaker_encoder"]["state"] == "shipped"
    assert dict(_screen(report))["Helper models"][0] == f"!! Silero VAD missing from {tmp_path}: {fix}"


@pytest.mark.skipif(sys.platform != "linux", reason="the CPU kernels are made on Linux only")
def test_doctor_shows_what_the_loads_keep_on_disk(tiny_models, tmp_path, monkeypatch):
    monkeypatch.delenv("LLM_MLX_AUDIO_CPU_FAST", raising=False)
    before = json.loads(llm_subprocess("audio", "doctor", "--json").stdout)["caches"]
    assert before["kernels"] == {"files": 0, "bytes": 0}
    assert llm_subprocess("speak", "Hello.", "-o", str(tmp_path / "a.wav")).returncode == 0
    after = json.loads(llm_subprocess("audio", "doctor", "--json").stdout)["caches"]
    assert after["kernels"]["files"] == 1 and after["kernels"]["bytes"] > 100_000
    screen = llm_subprocess("audio", "doctor").stdout.decode()
    assert "CPU kernels" in screen and "(for 1 model)" in screen
