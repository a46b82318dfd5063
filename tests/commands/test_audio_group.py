"""Finding, naming and choosing models: import, aliases, defaults, download."""

import json
from pathlib import Path

import llm
from llm_runner import llm_subprocess


def rows(llm_cli):
    result = llm_cli("audio", "models", "--json")
    assert result.exit_code == 0, result.output
    return {r["id"]: r for r in json.loads(result.stdout)}


def test_import_registers_a_local_mlx_folder(llm_cli, tiny_whisper):
    result = llm_cli("audio", "import", str(tiny_whisper), "--name", "mine", "-a", "ears")
    assert result.exit_code == 0, result.output
    found = rows(llm_cli)["mine"]
    assert found["kind"] == "transcription"
    assert found["aliases"] == ["ears"]
    assert found["location"] == str(tiny_whisper)


def test_import_detects_speech_models(llm_cli, tiny_kitten):
    llm_cli("audio", "import", str(tiny_kitten))
    assert rows(llm_cli)["tiny-kitten"]["kind"] == "speech"


def test_import_refuses_a_text_model(llm_cli, tmp_path):
    folder = tmp_path / "qwen"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}')
    (folder / "model.safetensors").write_bytes(b"")
    result = llm_cli("audio", "import", str(folder))
    assert result.exit_code != 0
    assert "holds a text generation model" in result.stderr
    assert "qwen" not in rows(llm_cli)


def test_import_refuses_an_unrecognised_folder_saying_what_it_expected(llm_cli, tmp_path):
    (tmp_path / "random").mkdir()
    (tmp_path / "random" / "notes.txt").write_text("hi")
    result = llm_cli("audio", "import", str(tmp_path / "random"))
    assert result.exit_code != 0
    assert "expected an MLX model folder" in result.stderr


def test_llm_aliases_set_works_for_audio_models(llm_cli, tiny_models, tmp_path):
    assert llm_cli("aliases", "set", "voice", "tiny-kitten").exit_code == 0
    out = tmp_path / "a.wav"
    assert llm_cli("speak", "hi there", "-m", "voice", "-o", str(out)).exit_code == 0
    assert out.exists()
    assert "voice" in rows(llm_cli)["tiny-kitten"]["aliases"]


def test_removed_alias_no_longer_resolves(llm_cli, tiny_models, tmp_path):
    llm.set_alias("gone", "tiny-kitten")
    llm.remove_alias("gone")
    result = llm_cli("speak", "hi", "-m", "gone", "-o", str(tmp_path / "x.wav"))
    assert "Unknown speech model 'gone'" in result.stderr


def test_default_models_are_shown_and_set(llm_cli, tiny_models, user_dir):
    assert llm_cli("audio", "default", "speech").stdout.strip() == "tiny-kitten"
    assert (user_dir / "default_speech_model.txt").read_text() == "tiny-kitten"
    assert rows(llm_cli)["tiny-kitten"]["default"] is True


def test_default_refuses_a_model_of_the_wrong_kind(llm_cli, tiny_models):
    result = llm_cli("audio", "default", "speech", "tiny-whisper")
    assert result.exit_code != 0
    assert "is a transcription model" in result.stderr


def test_voices_lists_the_models_voices(llm_cli, tiny_models):
    result = llm_cli("audio", "voices")
    assert result.stdout.splitlines() == ["expr-voice-2-f (female)", "expr-voice-5-m (male) [default]"]


def test_voices_json_lists_voice_objects(llm_cli, tiny_models):
    result = llm_cli("audio", "voices", "--json")
    assert json.loads(result.stdout) == {
        "model": "tiny-kitten",
        "default": "expr-voice-5-m",
        "voices": [
            {"id": "expr-voice-2-f", "name": "expr-voice-2-f", "gender": "female"},
            {"id": "expr-voice-5-m", "name": "expr-voice-5-m", "gender": "male"},
        ],
    }


# huggingface_hub reads HF_HOME and HF_HUB_OFFLINE once, at import: the download
# tests run the real `llm` in a fresh process with them set.


def download(*args, hf_home):
    return llm_subprocess("audio", "download", *args, env={"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"})


def test_download_offline_without_cache_says_so(tmp_path):
    result = download("mlx-community/Kokoro-82M-bf16", hf_home=tmp_path / "hf")
    assert result.returncode != 0
    assert b"cannot be reached" in result.stderr
    assert b"Traceback" not in result.stderr


def hub_cache(root: Path, repo_id: str, files: dict) -> Path:
    """Lay out files the way huggingface_hub's own cache stores a downloaded snapshot."""
    repo = root / "hub" / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name, data in files.items():
        (snapshot / name).write_bytes(data)
    return snapshot


def test_download_uses_the_hub_cache_and_records_the_model(llm_cli, tiny_whisper, tmp_path):
    files = {p.name: p.read_bytes() for p in tiny_whisper.iterdir() if p.is_file()}
    snapshot = hub_cache(tmp_path / "hf", "someone/whisper-tiny-test", files)
    result = download("someone/whisper-tiny-test", "-a", "tt", hf_home=tmp_path / "hf")
    assert result.returncode == 0, result.stderr
    found = rows(llm_cli)["someone/whisper-tiny-test"]
    assert found["kind"] == "transcription" and found["aliases"] == ["tt"]
    assert Path(found["location"]).resolve() == snapshot.resolve()


def test_download_refuses_a_text_model_before_fetching_weights(tmp_path):
    config = b'{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}'
    hub_cache(tmp_path / "hf", "someone/llama-speech-8b", {"config.json": config})
    result = download("someone/llama-speech-8b", hf_home=tmp_path / "hf")
    assert result.returncode != 0
    assert b"is a text generation model" in result.stderr


def test_the_token_comes_from_llm_keys_and_is_never_printed(llm_cli, user_dir, monkeypatch, tmp_path):
    from llm_mlx_audio.engine.download import hf_token

    llm_cli("keys", "set", "huggingface", "--value", "hf_secret_value_123")
    assert hf_token() == "hf_secret_value_123"
    result = download("someone/private-model", hf_home=tmp_path / "hf")
    assert result.returncode != 0
    assert b"hf_secret_value_123" not in result.stdout + result.stderr
    monkeypatch.setenv("HF_TOKEN", "from_env")
    assert hf_token() == "hf_secret_value_123"  # llm's stored key wins, as llm's get_key does
