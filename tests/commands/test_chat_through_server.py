"""`llm audio chat` with a running `llm audio serve`: the server's warm models do the work.

As in test_chat.py, the microphone is a raw recording of two spoken prompts (ALSA's file
plugin, through PortAudio) and the speaker a raw file; llm-echo answers with the prompt
it got. The server runs in its own process and advertises itself; the chat runs as a
fresh process that finds it, and must load no model of its own.
"""

import json
import signal
import time
import urllib.request

import numpy as np
import pytest
from llm_runner import llm_subprocess, serve_in_a_process
from spoken_clips import HAVE_ESPEAK, with_pauses
from test_listen import alsa_config

from llm_mlx_audio.engine import embedded

pytest.importorskip("llm_echo")
pytest.importorskip("websockets")
pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-tiny.en") and embedded.available("kokoro-82m")),
    reason="espeak-ng or the offline extra's models missing",
)
PROMPTS = ["Tell me about the weather.", "What time does the train leave?"]


@pytest.fixture(scope="module")
def setup(shared_user_dir, tmp_path_factory):
    """The microphone and speaker files, and a server running on the module's user directory."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        for model_id in ("whisper-tiny.en", "kokoro-82m"):
            embedded.ensure_embedded(model_id)
    folder = tmp_path_factory.mktemp("alsa-chat-server")
    samples, _ = with_pauses([0.5, PROMPTS[0], 2.0, PROMPTS[1], 3.0])
    raw = folder / "microphone.raw"
    raw.write_bytes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    env = {
        "LLM_USER_PATH": str(shared_user_dir),
        "ALSA_CONFIG_PATH": alsa_config(folder, raw),
        "HF_HUB_OFFLINE": "1",
    }
    process, url = serve_in_a_process(shared_user_dir)
    yield env, folder / "played.raw", url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def loaded_on_the_server(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url + "/health", timeout=10) as response:
        return {m["model"] for m in json.loads(response.read())["models"]}


def logs(env, at_least=0):
    """llm's logs, oldest first, once there are at least that many (the server logs as a session ends)."""
    end = time.monotonic() + 30
    while True:
        out = llm_subprocess("logs", "--json", "-n", "0", env=env).stdout
        entries = json.loads(out) if out.strip() else []  # no logs.db yet: nothing at all
        if len(entries) >= at_least or time.monotonic() > end:
            return entries
        time.sleep(0.5)


def test_two_spoken_turns_are_answered_by_the_servers_models_and_logged_once(setup, tmp_path):
    env, played, url = setup
    result = llm_subprocess(
        "audio",
        "chat",
        "-m",
        "echo",
        "--transcription-model",
        "whisper-tiny.en",
        "--turns",
        "2",
        "--verbose",
        env=env,
        timeout=600,
    )
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    lines = out.splitlines()
    heard = [line for line in lines if line.startswith("you: ")]
    assert len(heard) == 2, out
    assert "weather" in heard[0].lower() and "train" in heard[1].lower()
    assert sum(line.startswith("echo: ") for line in lines) == 2, out

    # the server did the work: it holds both models, and the chat loaded none of its own
    assert "chatting through the server at " + url in err
    assert "loaded " not in err, err
    assert {"whisper-tiny.en", "kokoro-82m"} <= loaded_on_the_server(url)

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

    # the server logged the two exchanges as one conversation (as the session ends); the chat did not
    logs(env, at_least=2)
    time.sleep(1)  # and no more come
    entries = logs(env)
    assert [entry["model"] for entry in entries] == ["echo", "echo"], entries
    assert len({entry["conversation_id"] for entry in entries}) == 1
    assert {"weather", "train"} == {
        w for e in entries for w in ("weather", "train") if w in e["prompt"].lower()
    }


def test_speech_over_the_answer_stops_it_and_is_the_next_turn(setup, tmp_path):
    env, _, _ = setup
    samples, _ = with_pauses([0.5, PROMPTS[0], 4.0, PROMPTS[1], 3.0])  # the second over the first answer
    raw = tmp_path / "microphone.raw"
    raw.write_bytes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    env = {**env, "ALSA_CONFIG_PATH": alsa_config(tmp_path, raw)}
    before = len(logs(env))
    result = llm_subprocess(
        "audio",
        "chat",
        "-m",
        "echo",
        "--transcription-model",
        "whisper-tiny.en",
        "--turns",
        "2",
        "--barge-in",
        "--verbose",
        env=env,
        timeout=600,
    )
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert sum(line.startswith("you: ") for line in out.splitlines()) == 2, out
    # Speech over an answer stops it, and an answer the server cancels (the next turn came
    # first) is shown stopped too. On a loaded machine the second prompt can be heard before
    # the first answer has even started: then nothing was stopped, and nothing may say so.
    stopped = "speech started (answering: True)" in err or "response cancelled" in err
    assert out.count("[interrupted]") == (1 if stopped else 0), out + err

    logs(env, at_least=before + 2)
    time.sleep(1)  # and no more come
    first, second = logs(env)[before:]
    assert "weather" in first["prompt"].lower() and "leave" in second["prompt"].lower()
    assert first["conversation_id"] == second["conversation_id"]


def test_an_unknown_model_or_voice_is_the_same_one_line_with_a_server_running(setup):
    env, _, _ = setup
    result = llm_subprocess("audio", "chat", "-m", "no-such-model", env=env, timeout=300)
    assert result.returncode == 1
    assert result.stderr.decode().strip().splitlines() == ["Error: Unknown model: no-such-model"]
    # the server refuses the session's voice: the chat falls back, and says it as the local chat does
    for local in ([], ["--local"]):
        result = llm_subprocess(
            "audio", "chat", "-m", "echo", "--voice", "nobody", *local, env=env, timeout=300
        )
        lines = result.stderr.decode().strip().splitlines()
        assert (
            result.returncode == 1
            and len(lines) == 1
            and lines[0].startswith("Error: Unknown voice 'nobody'")
        )
