"""`llm audio serve` itself: hosts, ports, API keys, preloading, Ctrl-C."""

import os
import signal
import subprocess
import sys

import httpx
import pytest

# -- the command ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.com", False),
    ],
)
def test_only_loopback_hosts_count_as_local(host, loopback):
    from llm_mlx_audio.server.run import is_loopback

    assert is_loopback(host) is loopback


def test_busy_port_is_one_clear_error():
    from llm_mlx_audio.errors import AudioError
    from llm_mlx_audio.server.run import bind_socket

    taken = bind_socket("127.0.0.1", 0)
    try:
        with pytest.raises(AudioError, match="Cannot listen on 127.0.0.1"):
            bind_socket("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


@pytest.fixture
def own_user_dir(tmp_path, monkeypatch):
    """A user directory of the test's own, so stored keys do not reach the shared one."""
    path = tmp_path / "own-llm-user"
    path.mkdir()
    monkeypatch.setenv("LLM_USER_PATH", str(path))
    monkeypatch.delenv("LLM_MLX_AUDIO_API_KEY", raising=False)
    return path


def test_api_key_comes_from_llm_keys(llm_cli, own_user_dir):
    from llm_mlx_audio.server.run import resolve_api_key

    assert llm_cli("keys", "set", "mlx-audio-server", "--value", "stored-key").exit_code == 0
    assert resolve_api_key(None) == "stored-key"


def test_api_key_comes_from_the_environment(own_user_dir, monkeypatch):
    from llm_mlx_audio.server.run import resolve_api_key

    monkeypatch.setenv("LLM_MLX_AUDIO_API_KEY", "env-key")
    assert resolve_api_key(None) == "env-key"


def test_api_key_comes_from_a_named_environment_variable(own_user_dir, monkeypatch):
    from llm_mlx_audio.errors import AudioError
    from llm_mlx_audio.server.run import resolve_api_key

    monkeypatch.setenv("MY_SERVER_KEY", "named-env-key")
    assert resolve_api_key(None, "MY_SERVER_KEY") == "named-env-key"
    with pytest.raises(AudioError, match="--api-key-env UNSET_KEY: that environment variable is not set"):
        resolve_api_key(None, "UNSET_KEY")


def test_a_key_on_the_command_line_is_served_with_a_warning_and_the_env_one_without(shared_user_dir, models):
    from llm_runner import serve_in_a_process

    for args, warned in ((("--api-key", "visible-key"), True), (("--api-key-env", "MY_SERVER_KEY"), False)):
        os.environ["MY_SERVER_KEY"] = "hidden-key"
        try:
            process, url = serve_in_a_process(shared_user_dir, *args)
        finally:
            del os.environ["MY_SERVER_KEY"]
        try:
            key = "visible-key" if warned else "hidden-key"
            assert httpx.get(url + "/openapi.json", timeout=10).status_code == 401
            authorised = httpx.get(
                url + "/openapi.json", headers={"authorization": f"Bearer {key}"}, timeout=10
            )
            assert authorised.status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            stderr = process.communicate(timeout=60)[1].decode()
        assert ("visible to other users of this machine (ps)" in stderr) is warned


def test_serve_refuses_a_public_host_without_an_api_key(own_user_dir):
    from llm_runner import llm_subprocess

    # A real process with a time limit: were the check missing, the server would just run.
    result = llm_subprocess("audio", "serve", "--host", "0.0.0.0", "--port", "0", timeout=60)
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "without an API key" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_serve_command_preloads_serves_and_stops_cleanly_on_ctrl_c(shared_user_dir, models, clip):
    env = dict(os.environ, LLM_USER_PATH=str(shared_user_dir), HF_HUB_OFFLINE="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "llm", "audio", "serve", "--port", "0", "--preload", "tiny-kitten"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        lines = []
        for line in process.stderr:
            lines.append(line)
            if line.startswith("Listening on "):
                break
        url = lines[-1].split()[2]
        assert httpx.get(url + "/health").json()["models_loaded"] == 1  # preloaded before serving
        response = httpx.post(
            url + "/v1/audio/speech", json={"input": "Hi.", "response_format": "wav"}, timeout=120
        )
        assert response.content[:4] == b"RIFF"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines) + stderr
    assert process.returncode == 0, output
    assert "Traceback" not in output and "Stopped" in output
