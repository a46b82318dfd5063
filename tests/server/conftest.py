"""Fixtures for the server tests: one user directory per module, real servers on loopback.

Each module gets its own server (and a locked one, with an API key and a small upload
limit) on 127.0.0.1 in a background thread of this process, sharing the process's pool
and MLX thread exactly as the CLI's server does. The tiny models' output is noise or
garbage text: tests check shapes, formats, statuses and behaviour, never content.
"""

import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from server_helpers import API_KEY, LOCKED_UPLOAD_LIMIT, start_server  # noqa: E402
from spoken_clips import speech_wav  # noqa: E402


@pytest.fixture(name="user_dir")
def shared_user_dir_for_each_test(shared_user_dir, monkeypatch):
    """The module's shared user directory (the server's models live there) for every test."""
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_user_dir


@pytest.fixture(scope="module")
def models(shared_tiny_models):
    return shared_tiny_models


@pytest.fixture(scope="module")
def base_url(models):
    url, stop = start_server()
    yield url
    stop()


@pytest.fixture(scope="module")
def locked_url(models):
    url, stop = start_server(api_key=API_KEY, max_upload_bytes=LOCKED_UPLOAD_LIMIT)
    yield url
    stop()


@pytest.fixture
def client(base_url, user_dir):
    return openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def clip():
    """Speech (a tone would be cut as silence by the VAD before it reached the model)."""
    return speech_wav("Good morning to you.")


@pytest.fixture(scope="module")
def whisper_base_url(shared_tiny_models, shared_user_dir, whisper_base):
    """A server whose default transcription model is the real Whisper base (tiny-kitten speaks)."""
    import llm  # noqa: F401

    from llm_mlx_audio import catalog
    from llm_mlx_audio.engine.importing import import_model

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        patch.setenv("HF_HUB_OFFLINE", "1")
        import_model(whisper_base, name="whisper-base")
        catalog.set_default("transcription", "whisper-base")
    url, stop = start_server()
    yield url
    stop()
