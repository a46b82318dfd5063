"""`llm listen` and `llm audio devices` through PortAudio and ALSA, in a real subprocess.

No machine here has a sound card, so the microphone is ALSA's `file` plugin reading a
raw 16-bit recording (a test-only ALSA configuration, pointed to by ALSA_CONFIG_PATH):
capture returns that file exactly, but with no clock (seconds of audio arrive in
milliseconds; after the file, silence). That suits exact tests of capture, utterance
cutting and output; it says nothing about timing.
"""

import json

import numpy as np
import pytest
from llm_runner import llm_subprocess
from spoken_clips import HAVE_ESPEAK, with_pauses

from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-tiny.en")), reason="espeak-ng or whisper-tiny.en missing"
)
STOCK_ALSA = "/usr/share/alsa/alsa.conf"
SENTENCES = ["The weather is cold today.", "Please send me the report.", "Our team finished early."]


def alsa_config(folder, microphone_file):
    config = folder / "alsa-test.conf"
    config.write_text(
        'pcm.!default { type asym; playback.pcm "speaker"; capture.pcm "mic" }\n'
        'pcm.mic { type plug; slave { pcm "micfile"; format S16_LE; rate 16000; channels 1 } }\n'
        f'pcm.micfile {{ type file; slave.pcm "nullin"; file "/dev/null"; infile "{microphone_file}"; format "raw" }}\n'
        "pcm.nullin { type null }\n"
        'pcm.speaker { type plug; slave { pcm "spkfile"; format S16_LE; rate 24000; channels 1 } }\n'
        f'pcm.spkfile {{ type file; slave.pcm "nullout"; file "{folder / "played.raw"}"; format "raw" }}\n'
        "pcm.nullout { type null }\n"
    )
    return f"{STOCK_ALSA}:{config}"


@pytest.fixture(scope="module")
def user(shared_user_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        embedded.ensure_embedded("whisper-tiny.en")
    return shared_user_dir


@pytest.fixture(scope="module")
def microphone(tmp_path_factory):
    """Three sentences with 2-s pauses as the microphone: (ALSA_CONFIG_PATH, true spans, seconds)."""
    folder = tmp_path_factory.mktemp("alsa")
    samples, spans = with_pauses([0.5, SENTENCES[0], 2.0, SENTENCES[1], 2.0, SENTENCES[2], 3.0])
    raw = folder / "microphone.raw"
    raw.write_bytes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return alsa_config(folder, raw), spans, len(samples) / 16000


def listen(user, alsa, *args):
    env = {"LLM_USER_PATH": str(user), "ALSA_CONFIG_PATH": alsa, "HF_HUB_OFFLINE": "1"}
    result = llm_subprocess("listen", "-m", "whisper-tiny.en", *args, env=env, timeout=300)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def words(text):
    return set("".join(c for c in text.lower() if c.isalpha() or c.isspace()).split())


@pytest.mark.stock_path
def test_three_utterances_print_three_lines_in_order(user, microphone):
    alsa, _, seconds = microphone
    code, out, err = listen(user, alsa, "--duration", str(seconds))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert {"send", "report"} <= words(lines[1]) and {"team", "finished", "early"} <= words(lines[2])
    assert "cold" in words(lines[0])


def test_json_lines_carry_times_near_the_true_ones(user, microphone):
    alsa, spans, seconds = microphone
    code, out, err = listen(user, alsa, "--duration", str(seconds), "--format", "json")
    assert code == 0, err
    items = [json.loads(line) for line in out.splitlines()]
    assert [set(item) for item in items] == [{"start", "end", "text", "language"}] * 3
    for item, (start, end) in zip(items, spans, strict=True):
        assert abs(item["start"] - start) < 0.5 and abs(item["end"] - end) < 0.5, (item, start, end)
        assert item["language"] == "en"


def test_until_silence_stops_after_the_first_long_silence(user, microphone):
    alsa, _, _ = microphone
    code, out, err = listen(user, alsa, "--until-silence", "1.5")  # the pauses are 2 s
    assert code == 0, err
    assert len(out.splitlines()) == 1
    code, out, _ = listen(user, alsa, "--until-silence", "2.5")  # the silence after the file
    assert code == 0 and len(out.splitlines()) == 3


def test_duration_stops_the_capture_there(user, microphone):
    alsa, spans, _ = microphone
    code, out, err = listen(user, alsa, "--duration", str(spans[1][0] - 0.5))
    assert code == 0, err
    assert len(out.splitlines()) == 1


def test_output_file_gets_the_lines_appended(user, microphone, tmp_path):
    alsa, _, seconds = microphone
    notes = tmp_path / "notes.txt"
    notes.write_text("earlier\n")
    code, out, err = listen(user, alsa, "--duration", str(seconds), "-o", str(notes))
    assert code == 0, err
    assert out == ""
    lines = notes.read_text().splitlines()
    assert lines[0] == "earlier" and len(lines) == 4


def test_devices_lists_the_test_devices_and_the_defaults(user, microphone):
    alsa, _, _ = microphone
    env = {"LLM_USER_PATH": str(user), "ALSA_CONFIG_PATH": alsa}
    result = llm_subprocess("audio", "devices", "--json", env=env)
    assert result.returncode == 0, result.stderr
    devices = {d["name"]: d for d in json.loads(result.stdout)}
    assert {"mic", "speaker", "default"} <= set(devices)
    assert devices["default"]["default_input"] and devices["default"]["input_channels"] > 0
    text = llm_subprocess("audio", "devices", env=env).stdout.decode()
    assert "default input" in text and "Hz" in text


def test_unknown_device_is_one_line_naming_the_inputs(user, microphone):
    alsa, _, _ = microphone
    code, out, err = listen(user, alsa, "--device", "no-such-microphone", "--duration", "1")
    assert code == 1 and out == ""
    assert err.startswith("Error: No input device 'no-such-microphone'; inputs are ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_machine_without_a_sound_card_says_so(user):
    code, out, err = listen(user, STOCK_ALSA, "--duration", "1")
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        "Error: No input device found: connect a microphone (see `llm audio devices`)"
    ]
    env = {"LLM_USER_PATH": str(user), "ALSA_CONFIG_PATH": STOCK_ALSA}
    result = llm_subprocess("audio", "devices", env=env)
    assert result.returncode == 0 and result.stdout.decode() == "No audio devices found\n"


def test_listen_is_in_llms_help(user):
    result = llm_subprocess("listen", "--help")
    assert result.returncode == 0
    assert b"--until-silence" in result.stdout


def test_with_a_server_running_each_utterance_is_transcribed_there_the_same(user, microphone):
    import signal

    from llm_runner import serve_in_a_process

    alsa, _, seconds = microphone
    process, _ = serve_in_a_process(user)
    try:
        code, warm, warm_err = listen(user, alsa, "--duration", str(seconds), "--verbose")
        local_code, local, local_err = listen(user, alsa, "--duration", str(seconds), "--local", "--verbose")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert code == 0 and local_code == 0, warm_err + local_err
    assert warm_err.count("transcribed through the server") == 3
    assert "loaded whisper-tiny.en" not in warm_err  # only the VAD loads in the command
    assert "through the server" not in local_err
    assert warm == local and len(warm.splitlines()) == 3
