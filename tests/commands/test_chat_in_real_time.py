"""`llm audio chat` against a microphone and a speaker that run in real time (PulseAudio).

The microphone hears espeak-ng prompts played at the pace of a clock; what the chat
plays is recorded from the speaker. llm-echo answers each prompt with a JSON echo of
it, so the replies are known and long enough to interrupt.
"""

import os
import subprocess
import sys
import time

import pytest
from pulse_audio import sounding
from spoken_clips import HAVE_ESPEAK, speech_wav

from llm_mlx_audio.engine import embedded

pytest.importorskip("llm_echo")
pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("kokoro-82m")), reason="espeak-ng or the offline models missing"
)
FIRST = "Tell me a long story about the weather in the mountains near the old town."
SECOND = "Please send the report to my sister."


@pytest.fixture(scope="module")
def room(pulse, shared_user_dir, tmp_path_factory):
    """(pulse, env, first prompt wav, second prompt wav)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        for model_id in ("whisper-tiny.en", "kokoro-82m"):
            embedded.ensure_embedded(model_id)
    folder = tmp_path_factory.mktemp("prompts")
    first, second = folder / "first.wav", folder / "second.wav"
    first.write_bytes(speech_wav(FIRST))
    second.write_bytes(speech_wav(SECOND))
    env = {**os.environ, **pulse.env, "LLM_USER_PATH": str(shared_user_dir), "HF_HUB_OFFLINE": "1"}
    return pulse, env, first, second


def start_chat(env, *args):
    """The chat in a subprocess, once it has opened the microphone."""
    process = subprocess.Popen(
        [sys.executable, "-m", "llm", "audio", "chat", "-m", "echo"]
        + ["--transcription-model", "whisper-tiny.en", "--turns", "2", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    line = process.stderr.readline().decode()
    if not line.startswith("Talking with echo"):
        process.kill()
        raise AssertionError(line + process.stderr.read().decode())
    time.sleep(1.0)  # a person starts speaking a moment after the prompt
    return process


def wait_for_sound(recorder, after: float = 0.0, timeout: float = 120):
    """The recording's (start, end) of the first sound that starts after `after` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spans = [span for span in sounding(recorder.samples()) if span[0] >= after]
        if spans:
            return spans[0]
        time.sleep(0.05)
    raise AssertionError("nothing was played")


def wait_for_quiet(recorder, seconds: float, timeout: float = 120):
    """Wait until the speaker has been quiet for `seconds` after having played something."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples = recorder.samples()
        spans = sounding(samples)
        if spans and len(samples) / 16000 - spans[-1][1] >= seconds:
            return
        time.sleep(0.05)
    raise AssertionError("the speaker never went quiet")


def finish(process, timeout=180):
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"the chat did not end:\n{out.decode()}\n{err.decode()}") from None
    return process.returncode, out.decode(), err.decode()


def heard(out):
    return [line[len("you: ") :].lower() for line in out.splitlines() if line.startswith("you: ")]


def test_half_duplex_never_answers_its_own_reply_through_the_speakers(room):
    pulse, env, first, second = room
    module = pulse.echo_room()  # the speaker reaches the microphone, as a laptop's does
    try:
        recorder = pulse.recorder()
        chat = start_chat(env)
        pulse.play(first)
        wait_for_sound(recorder)
        wait_for_quiet(recorder, 2.5)  # the first reply has been played in full
        pulse.play(second)
        code, out, err = finish(chat)
        recorder.stop()
    finally:
        pulse.pactl("unload-module", module)
    assert code == 0, err
    you = heard(out)
    assert len(you) == 2, out
    assert "weather" in you[0] and "mountains" in you[0]
    # the second prompt is the person's, not the reply (which repeats the first) heard again
    assert "sister" in you[1] and "weather" not in you[1] and "prompt" not in you[1], out
    assert "[interrupted]" not in out
    assert "Traceback" not in err and "pa_linux_alsa" not in err


def test_barge_in_stops_the_reply_and_takes_the_new_utterance(room, tmp_path):
    pulse, env, first, second = room
    recorder = pulse.recorder()
    chat = start_chat(env, "--barge-in")
    pulse.play(first)
    reply_start, _ = wait_for_sound(recorder)
    time.sleep(1.0)
    pulse.play(second)  # speaking over the reply, in headphones
    code, out, err = finish(chat)
    played = recorder.stop()
    assert code == 0, err
    assert "[interrupted]" in out.split("you: ")[1], out
    you = heard(out)
    assert len(you) == 2 and "sister" in you[1], out
    assert "Traceback" not in err and "pa_linux_alsa" not in err  # stopping mid-write is clean

    # the interrupted reply was cut short: compare with the whole reply, spoken to a file
    first_reply = next(span for span in sounding(played) if span[0] >= reply_start - 0.05)
    reply_text = out.split("echo: ", 1)[1].split(" [interrupted]")[0]
    whole = tmp_path / "whole.wav"
    result = subprocess.run(
        [sys.executable, "-m", "llm", "speak", reply_text, "-o", str(whole)], env=env, capture_output=True
    )
    assert result.returncode == 0, result.stderr
    from spoken_clips import wav_seconds

    cut, full = first_reply[1] - first_reply[0], wav_seconds(whole)
    assert cut < full / 2, (cut, full)
