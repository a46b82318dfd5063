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


def test_doctor_says_which_helper_models_are_there(tiny_models):
    from llm_mlx_audio.engine import embedded
    from llm_mlx_audio.engine.importers import resemblyzer_ge2e

    report = json.loads(llm_subprocess("audio", "doctor", "--json").stdout)
    encoder = report["helpers"]["speaker_encoder"]
    if resemblyzer_ge2e.packaged_source() is None:
        assert encoder == {"state": "missing", "fix": "pip install --no-deps resemblyzer==0.1.4"}
        return
    assert encoder["state"] == "available"  # a fresh user directory: converted on first use
    embedded.ensure_speaker_encoder()
    report = json.loads(llm_subprocess("audio", "doctor", "--json").stdout)
    assert report["helpers"]["speaker_encoder"]["state"] == "converted"
    assert report["helpers"]["speaker_encoder"]["bytes"] > 5_000_000  # 1.4 M float32 weights
    assert "GE2E speaker encoder (--diarize): " in llm_subprocess("audio", "doctor").stdout.decode()


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
