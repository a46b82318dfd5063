"""`llm audio chat` with llm-echo, through PortAudio and ALSA's file plugin, in a subprocess.

The microphone is a raw recording of two spoken prompts; the speaker is a raw file
that collects what was played. llm-echo answers with the prompt it got (as JSON), so
the played replies, transcribed back, must contain the prompts' words, and llm's
logs must hold one conversation with two responses.
"""

import http.server
import json
import pathlib
import socket
import threading

import numpy as np
import pytest
from llm_runner import llm_subprocess
from spoken_clips import HAVE_ESPEAK, with_pauses
from test_listen import alsa_config

from llm_mlx_audio.engine import embedded

pytest.importorskip("llm_echo")
pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-tiny.en") and embedded.available("kokoro-82m")),
    reason="espeak-ng or the offline extra's models missing",
)
PROMPTS = ["Tell me about the weather.", "What time does the train leave?"]


@pytest.fixture(scope="module")
def setup(shared_user_dir, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        for model_id in ("whisper-tiny.en", "kokoro-82m"):
            embedded.ensure_embedded(model_id)
    folder = tmp_path_factory.mktemp("alsa-chat")
    samples, _ = with_pauses([0.5, PROMPTS[0], 2.0, PROMPTS[1], 3.0])
    raw = folder / "microphone.raw"
    raw.write_bytes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    env = {
        "LLM_USER_PATH": str(shared_user_dir),
        "ALSA_CONFIG_PATH": alsa_config(folder, raw),
        "HF_HUB_OFFLINE": "1",
    }
    return env, folder / "played.raw"


def chat(env, *args):
    result = llm_subprocess(
        "audio", "chat", "-m", "echo", "--transcription-model", "whisper-tiny.en", *args, env=env, timeout=600
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_two_spoken_turns_are_answered_aloud_and_logged_as_one_conversation(setup, tmp_path):
    env, played = setup
    code, out, err = chat(env, "--turns", "2")
    assert code == 0, err
    lines = out.splitlines()
    heard = [line for line in lines if line.startswith("you: ")]
    assert len(heard) == 2, out
    assert "weather" in heard[0].lower() and "train" in heard[1].lower()
    assert sum(line.startswith("echo: ") for line in lines) == 2

    # what the speaker played, transcribed back, holds the replies' words
    pcm = np.frombuffer(played.read_bytes(), "<i2").astype(np.float32) / 32768
    assert len(pcm) > 24000 * 2, "nothing was played"
    from llm_mlx_audio.audio.encode import encode_audio

    wav = tmp_path / "played.wav"
    wav.write_bytes(encode_audio(pcm, 24000, "wav"))
    back = (
        llm_subprocess("transcribe", str(wav), "-m", "whisper-tiny.en", "-n", env=env).stdout.decode().lower()
    )
    assert "weather" in back and "train" in back, back

    logs = json.loads(llm_subprocess("logs", "--json", "-n", "2", env=env).stdout)
    assert [entry["model"] for entry in logs] == ["echo", "echo"]
    assert len({entry["conversation_id"] for entry in logs}) == 1
    assert "weather" in logs[0]["prompt"].lower() and "train" in logs[1]["prompt"].lower()


def test_a_model_that_needs_a_key_is_one_line(setup):
    env, _ = setup
    result = llm_subprocess("audio", "chat", "-m", "echo-needs-key", "--turns", "1", env=env, timeout=300)
    err = result.stderr.decode()
    assert result.returncode == 1
    assert err.strip().splitlines()[-1].startswith("Error: echo-needs-key needs a key")
    assert "Traceback" not in err


def test_unknown_model_and_tool_are_one_line(setup):
    env, _ = setup
    for args, message in (
        (["-m", "no-such-model"], "Error: Unknown model: no-such-model"),
        (["-m", "echo", "-T", "no_such_tool"], "Error: Unknown tool: no_such_tool"),
    ):
        result = llm_subprocess("audio", "chat", *args, env=env, timeout=300)
        assert result.returncode == 1
        assert result.stderr.decode().strip().splitlines() == [
            message + (" (see `llm tools`)" if "tool" in message else "")
        ]


class RateLimited(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that is always over its rate limit."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps(
            {"error": {"message": "Rate limit reached for requests", "code": "rate_limit_exceeded"}}
        )
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def openai_models(setup, tmp_path):
    """Two llm OpenAI models on loopback: one rate-limited, one whose server is not there."""
    env, _ = setup
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RateLimited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as probe:  # a port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    config = pathlib.Path(env["LLM_USER_PATH"]) / "extra-openai-models.yaml"
    config.write_text(
        f"- model_id: limited\n  model_name: gpt-4o-mini\n  api_base: http://127.0.0.1:{server.server_port}/v1\n"
        f"- model_id: unreachable\n  model_name: gpt-4o-mini\n  api_base: http://127.0.0.1:{closed}/v1\n"
    )
    yield {**env, "OPENAI_API_KEY": "sk-test"}
    config.unlink()
    server.shutdown()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("limited", "Error: limited: HTTP 429 - Rate limit reached for requests"),
        ("unreachable", "Error: unreachable: Connection error"),
    ],
)
def test_llm_errors_are_one_line_each_turn_and_the_chat_goes_on(openai_models, setup, model, message):
    env, played = setup
    played.unlink(missing_ok=True)
    result = llm_subprocess(
        "audio",
        "chat",
        "-m",
        model,
        "--transcription-model",
        "whisper-tiny.en",
        "--turns",
        "2",
        "-n",
        env=openai_models,
        timeout=600,
    )
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert sum(line.startswith("you: ") for line in out.splitlines()) == 2, out
    errors = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 2 and all(line.startswith(message) for line in errors), err
    assert "Traceback" not in err
    # and it was said aloud, once a turn
    pcm = np.frombuffer(played.read_bytes(), "<i2").astype(np.float32) / 32768
    assert len(pcm) > 24000, "the error was not spoken"
