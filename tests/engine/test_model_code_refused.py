"""Model code never runs: a folder or repo whose configs name its own Python is refused.

Each fixture model is a real mlx-audio STT type whose loader asks transformers for its
tokenizer with ``trust_remote_code=True`` (qwen3_asr), with an ``auto_map`` pointing at
Python files in the folder that write a marker file when imported. The marker tells
whether any of it ran: the refusal must come first, in one line, on every way in (a
folder, an import, a hub download, a recorded model), and transformers itself must not
import the code even when asked to with ``trust_remote_code=True``.
"""

import json
import os
import subprocess
import sys
import wave

import numpy as np
import pytest
from hub_server import LoopbackHub, use_hub

from llm_mlx_audio import catalog
from llm_mlx_audio.engine import remote_code
from llm_mlx_audio.engine.patches import model_code

#: config file -> (the Auto class that reads its auto_map, the module it names, the class)
CODE = {
    "config.json": ("AutoConfig", "configuration_evil", "EvilConfig"),
    "tokenizer_config.json": ("AutoTokenizer", "tokenization_evil", "EvilTokenizer"),
    "processor_config.json": ("AutoProcessor", "processing_evil", "EvilProcessor"),
    "preprocessor_config.json": ("AutoFeatureExtractor", "feature_extraction_evil", "EvilFeatureExtractor"),
}
REFUSED = "ships its own Python code"


def build_evil_model(dest, marker, file="tokenizer_config.json", key="auto_map"):
    """A qwen3_asr folder whose ``file`` names custom code by ``key``; its .py files write ``marker``."""
    from safetensors.numpy import save_file

    dest.mkdir(parents=True)
    configs = {"config.json": {"model_type": "qwen3_asr"}}
    auto, module, cls = CODE.get(file, ("AutoConfig", "configuration_evil", "EvilConfig"))
    asks = {
        "auto_map": {auto: [f"{module}.{cls}", None] if auto == "AutoTokenizer" else f"{module}.{cls}"},
        "trust_remote_code": True,
        "custom_pipelines": {"evil-task": {"impl": "pipeline_evil.EvilPipeline"}},
    }[key]
    configs.setdefault(file, {})[key] = asks
    for name, config in configs.items():
        (dest / name).parent.mkdir(exist_ok=True)
        (dest / name).write_text(json.dumps(config))
    for module, cls in [(m, c) for _, m, c in CODE.values()] + [("pipeline_evil", "EvilPipeline")]:
        (dest / f"{module}.py").write_text(
            f'open({str(marker)!r}, "a").write(__name__ + "\\n")\n\nclass {cls}:\n    pass\n'
        )
    save_file({"weight": np.zeros(4, np.float32)}, str(dest / "model.safetensors"))
    return dest


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "model-code-ran"


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "clip.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 16000)
    return path


def assert_one_line_refusal(result, message, tmp_path):
    assert result.exit_code != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(tmp_path) not in result.stderr  # the model's name, never its path


@pytest.mark.parametrize(
    "file, key",
    [
        ("tokenizer_config.json", "auto_map"),
        ("config.json", "auto_map"),
        ("processor_config.json", "auto_map"),
        ("preprocessor_config.json", "auto_map"),
        ("tokenizer_config.json", "trust_remote_code"),
        ("config.json", "custom_pipelines"),
    ],
)
def test_transcribe_refuses_a_folder_whose_configs_name_code(llm_cli, tmp_path, marker, clip, file, key):
    folder = build_evil_model(tmp_path / "evil-asr", marker, file, key)
    result = llm_cli("transcribe", "-m", str(folder), str(clip))
    message = f"evil-asr ships its own Python code ({key} in {file}); llm-mlx-audio never runs model code"
    assert_one_line_refusal(result, message, tmp_path)
    assert not marker.exists()


def test_import_refuses_it_and_records_nothing(llm_cli, tmp_path, marker):
    folder = build_evil_model(tmp_path / "evil-asr", marker)
    result = llm_cli("audio", "import", str(folder), "--name", "evil")
    message = "evil ships its own Python code (auto_map in tokenizer_config.json); llm-mlx-audio never runs model code"
    assert_one_line_refusal(result, message, tmp_path)
    assert "evil" not in catalog.load_catalog()
    assert not marker.exists()


def test_a_recorded_model_is_refused_at_load_by_its_id(llm_cli, tmp_path, marker, clip):
    """A model recorded before this check existed (or edited since) is still refused when loaded."""
    folder = build_evil_model(tmp_path / "models--org--evil-asr", marker)
    catalog.record_model("org/evil-asr", "transcription", folder, source="huggingface")
    result = llm_cli("transcribe", "-m", "org/evil-asr", str(clip))
    message = "org/evil-asr ships its own Python code (auto_map in tokenizer_config.json)"
    assert_one_line_refusal(result, message, tmp_path)
    assert not marker.exists()


def test_a_config_in_a_subfolder_counts_too(tmp_path, marker):
    folder = build_evil_model(tmp_path / "evil-asr", marker, "tokenizer/tokenizer_config.json")
    with pytest.raises(remote_code.ModelCodeRefused, match=r"auto_map in tokenizer/tokenizer_config\.json"):
        remote_code.check_folder(folder, "evil-asr")


def test_a_plain_folder_passes(tmp_path, marker):
    folder = build_evil_model(tmp_path / "plain-asr", marker)
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "Qwen2Tokenizer"}))
    remote_code.check_folder(folder, "plain-asr")


# -- the guard in transformers itself ---------------------------------------------------


def test_the_guard_keeps_transformers_from_running_a_folders_code(tmp_path, marker):
    """transformers already imported: the guard is put in place at once (for the rest of
    this process, as a load does in the plugin's)."""
    import transformers
    import transformers.dynamic_module_utils  # noqa: F401

    model_code.install()
    assert model_code.installed()
    for file, (auto, _, _) in CODE.items():
        folder = build_evil_model(tmp_path / file.split(".")[0] / "evil-asr", marker, file)
        with pytest.raises(model_code.ModelCodeRefused, match="never runs model code") as refused:
            getattr(transformers, auto).from_pretrained(str(folder), trust_remote_code=True)
        assert str(tmp_path) not in str(refused.value)
        assert not marker.exists(), auto


GUARDED_OR_NOT = """
import sys
if sys.argv[2] == "guard":
    from llm_mlx_audio.engine.patches import model_code
    model_code.install()
    assert "transformers" not in sys.modules
from transformers import AutoTokenizer
try:
    AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)
except Exception as e:
    print(type(e).__name__, e)
"""


@pytest.mark.parametrize("guard", [False, True], ids=["without-the-guard", "guard-before-import"])
def test_the_guard_is_what_stops_the_code(tmp_path, marker, guard):
    """The control: without the guard the same call runs the folder's code. With it put
    in place before transformers is imported (an import hook), nothing is run or copied."""
    folder = build_evil_model(tmp_path / "evil-asr", marker)
    modules = tmp_path / "hf-modules"
    env = {**os.environ, "HF_MODULES_CACHE": str(modules), "HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-c", GUARDED_OR_NOT, str(folder), "guard" if guard else "none"]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    if guard:
        refused = (
            "ModelCodeRefused evil-asr ships its own Python code (tokenization_evil.py via transformers)"
        )
        assert refused in done.stdout, done.stdout
        assert not marker.exists()
        assert not list(modules.rglob("*evil*.py"))
    else:
        assert "tokenization_evil" in marker.read_text()


# -- the hub -------------------------------------------------------------------------------


@pytest.fixture
def hub(tmp_path, marker, monkeypatch):
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    with LoopbackHub() as served:
        served.add_repo("org/evil-asr", build_evil_model(tmp_path / "repo-config", marker, "config.json"))
        served.add_repo("org/evil-tokenizer-asr", build_evil_model(tmp_path / "repo-tokenizer", marker))
        use_hub(monkeypatch, served)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
        monkeypatch.setenv("HF_HUB_CACHE", str(cache))
        yield served


def requested(hub, repo_id):
    return [url.split("?")[0] for _, url, _ in hub.requests_for(repo_id)]


def test_download_refuses_code_in_config_json_before_the_weights(llm_cli, hub, tmp_path, marker):
    result = llm_cli("audio", "download", "org/evil-asr")
    message = "org/evil-asr ships its own Python code (auto_map in config.json); llm-mlx-audio never runs model code"
    assert_one_line_refusal(result, message, tmp_path)
    urls = requested(hub, "org/evil-asr")
    assert any(url.endswith("/config.json") for url in urls)
    assert not any(url.endswith(".safetensors") for url in urls)
    assert not any(url.endswith(".py") for url in urls)
    assert "org/evil-asr" not in catalog.load_catalog()
    assert not marker.exists()


def test_download_refuses_code_in_the_tokenizer_config_before_recording(llm_cli, hub, tmp_path, marker):
    result = llm_cli("audio", "download", "org/evil-tokenizer-asr")
    message = "org/evil-tokenizer-asr ships its own Python code (auto_map in tokenizer_config.json)"
    assert_one_line_refusal(result, message, tmp_path)
    assert not any(url.endswith(".py") for url in requested(hub, "org/evil-tokenizer-asr"))
    assert not list((tmp_path / "hf-cache").rglob("*.py"))
    assert "org/evil-tokenizer-asr" not in catalog.load_catalog()
    assert not marker.exists()
