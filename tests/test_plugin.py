"""The plugin inside llm: cheap to import, its own hooks, peers registered through them."""

import io
import json
import subprocess
import sys
import textwrap
import wave

import pytest
from llm_runner import llm_subprocess

HEAVY = (
    "mlx",
    "mlx_audio",
    "mlx_lm",
    "transformers",
    "sounddevice",
    "av",
    "onnx",
    "onnxruntime",
    "torch",
    "spacy",
    "fastapi",
    "uvicorn",
    "starlette",
    "multipart",
)


def test_importing_llm_cli_imports_nothing_heavy():
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import sys, llm.cli; print('llm_mlx_audio.hooks' in sys.modules)",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert result.stdout.strip() == "True"  # llm really loaded the plugin's entry point
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_llm_help_works_without_portaudio(tmp_path):
    # sounddevice raises OSError at import on a machine without PortAudio.
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    result = llm_subprocess("--help", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert b"speak" in result.stdout and b"transcribe" in result.stdout


def test_llm_plugins_lists_the_plugin_and_its_hooks():
    result = llm_subprocess("plugins")
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert "register_commands" in plugins["llm-mlx-audio"]["hooks"]
    provider = [p for name, p in plugins.items() if "engine.provider" in name]
    assert provider and "register_speech_models" in provider[0]["hooks"]


def test_the_hookspecs_are_on_llms_plugin_manager():
    from llm.plugins import pm

    import llm_mlx_audio.hooks  # noqa: F401  (what llm's entry point loads)

    assert hasattr(pm.hook, "register_speech_models")
    assert hasattr(pm.hook, "register_transcription_models")


BEEP_PLUGIN = textwrap.dedent(
    '''
    """A second, test-only plugin: a speech engine that is not MLX at all."""
    import llm
    import numpy as np
    from llm_mlx_audio import Audio, SpeechModel


    class Beeper(SpeechModel):
        model_id = "beeper"
        sample_rate = 8000

        def voices(self):
            return ["high", "low"]

        def stream_speech(self, text, *, voice, speed, language):
            pitch = 880 if voice == "high" else 220
            for word in text.split():
                n = int(self.sample_rate * 0.1 * len(word) / speed)
                t = np.arange(n) / self.sample_rate
                yield Audio((0.3 * np.sin(2 * np.pi * pitch * t)).astype(np.float32), self.sample_rate)


    @llm.hookimpl
    def register_speech_models(register):
        register(Beeper(), aliases=["beep"])
    '''
)


@pytest.fixture
def beep_plugin(tmp_path):
    from llm.plugins import pm

    sys.path.insert(0, str(tmp_path))
    (tmp_path / "beep_plugin.py").write_text(BEEP_PLUGIN)
    import beep_plugin

    pm.register(beep_plugin, name="beep_plugin")
    yield
    pm.unregister(name="beep_plugin")
    sys.path.remove(str(tmp_path))
    sys.modules.pop("beep_plugin", None)


def test_another_plugin_can_add_a_speech_model(beep_plugin, llm_cli, tmp_path):
    out = tmp_path / "beep.wav"
    result = llm_cli("speak", "three short words.", "-m", "beep", "-v", "low", "-o", str(out))
    assert result.exit_code == 0, result.output
    with wave.open(io.BytesIO(out.read_bytes())) as w:
        assert w.getframerate() == 8000
        assert w.getnframes() == int(8000 * 0.1 * 5) + int(8000 * 0.1 * 5) + int(8000 * 0.1 * 6)


def test_a_plugin_model_is_listed_with_its_aliases(beep_plugin, llm_cli):
    rows = json.loads(llm_cli("audio", "models", "--json").stdout)
    beeper = [r for r in rows if r["id"] == "beeper"]
    assert beeper and beeper[0]["kind"] == "speech" and beeper[0]["aliases"] == ["beep"]


def test_a_plugin_model_checks_voices_like_any_other(beep_plugin, llm_cli, tmp_path):
    result = llm_cli("speak", "hi", "-m", "beeper", "-v", "medium", "-o", str(tmp_path / "x.wav"))
    assert result.exit_code != 0
    assert "choose from: high, low" in result.stderr


def test_the_python_api_finds_plugin_models(beep_plugin):
    import llm_mlx_audio

    # normalize=False: the engine gets the text exactly as given (no full stop added)
    audio = llm_mlx_audio.get_speech_model("beep").speak("one two", voice="high", speed=2.0, normalize=False)
    assert audio.sample_rate == 8000
    assert len(audio.samples) == 2 * int(8000 * 0.1 * 3 / 2.0)


COUNT_PLUGIN = textwrap.dedent(
    '''
    """A test-only transcription engine that says how long the audio is; it cannot diarize."""
    import llm
    from llm_mlx_audio import Transcript, TranscriptionModel


    class Counter(TranscriptionModel):
        model_id = "counter"

        def transcribe_samples(self, samples, *, language, prompt, temperature, word_timestamps):
            return Transcript(text=f"{len(samples)} samples")


    @llm.hookimpl
    def register_transcription_models(register):
        register(Counter())
    '''
)


@pytest.fixture
def count_plugin(tmp_path):
    from llm.plugins import pm

    sys.path.insert(0, str(tmp_path))
    (tmp_path / "count_plugin.py").write_text(COUNT_PLUGIN)
    import count_plugin

    pm.register(count_plugin, name="count_plugin")
    yield
    pm.unregister(name="count_plugin")
    sys.path.remove(str(tmp_path))
    sys.modules.pop("count_plugin", None)


def test_a_plugin_model_that_cannot_diarize_says_which_can(count_plugin, llm_cli, tmp_path):
    from spoken_clips import speech_wav

    clip = tmp_path / "clip.wav"
    clip.write_bytes(speech_wav("Hello there."))
    assert llm_cli("transcribe", str(clip), "-m", "counter", "-n").stdout.endswith(" samples\n")
    result = llm_cli("transcribe", str(clip), "-m", "counter", "--diarize", "-n")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: counter cannot tell speakers apart; the MLX engine's Whisper models can "
        "(for example whisper-base or whisper-tiny.en)"
    ]
