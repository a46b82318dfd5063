"""`llm listen` against a microphone that runs in real time (PulseAudio).

ALSA's file plugin (test_listen.py) delivers a whole recording at once; here speech
arrives at the pace of a clock, as from a person, so these tests see what happens
while the speaker is still talking, and what a device that will not open does.
"""

import os
import subprocess
import sys
import time

import pytest
from spoken_clips import HAVE_ESPEAK, with_pauses

from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-tiny.en")), reason="espeak-ng or whisper-tiny.en missing"
)
SENTENCES = ["The weather is cold today.", "Please send me the report.", "Our team finished early."]


@pytest.fixture(scope="module")
def env(pulse, shared_user_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        embedded.ensure_embedded("whisper-tiny.en")
    return {**os.environ, **pulse.env, "LLM_USER_PATH": str(shared_user_dir), "HF_HUB_OFFLINE": "1"}


def test_each_line_is_printed_while_the_speaker_is_still_talking(pulse, env, tmp_path):
    samples, spans = with_pauses([SENTENCES[0], 2.0, SENTENCES[1], 2.0, SENTENCES[2], 1.0])
    talk = tmp_path / "talk.wav"
    talk.write_bytes(encode_audio(samples, 16000, "wav"))
    listen = subprocess.Popen(
        [sys.executable, "-m", "llm", "listen", "-m", "whisper-tiny.en", "--until-silence", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    ready = listen.stderr.readline().decode()
    assert ready.startswith("Listening on default; Ctrl-C to stop."), ready + listen.stderr.read().decode()
    time.sleep(0.5)
    started = time.monotonic()
    pulse.play(talk)
    arrivals = []
    for line in listen.stdout:
        arrivals.append((time.monotonic() - started, line.decode().strip()))
    listen.wait(60)
    assert listen.returncode == 0, listen.stderr.read().decode()
    assert [text.split()[-1].strip(".").lower() for _, text in arrivals] == ["today", "report", "early"]
    # the first line was out before the third sentence was spoken: lines do not wait for the end
    assert arrivals[0][0] < spans[2][0], (arrivals, spans)


def test_a_device_that_cannot_be_opened_is_one_line(pulse, env, tmp_path):
    config = tmp_path / "gone.conf"
    config.write_text('pcm.gone { type pulse; device "no-such-source" }\n')  # listed, but will not open
    alsa = f"{env['ALSA_CONFIG_PATH']}:{config}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "llm",
            "listen",
            "--device",
            "gone",
            "--duration",
            "2",
            "-m",
            "whisper-tiny.en",
        ],
        env={**env, "ALSA_CONFIG_PATH": alsa},
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 1 and result.stdout == b""
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Cannot open the input device 'gone': "), lines
