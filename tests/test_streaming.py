"""`llm speak --stream`: speech starts while the text is still being written."""

import os
import signal
import subprocess
import sys
import threading
import time
import wave

import pytest

WRITER = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line.rstrip('\\n') + ' ')\n    sys.stdout.flush()\n"


def start_pipeline(*speak_args):
    """writer (a subprocess we feed line by line) | llm speak --stream ..."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    speaker = subprocess.Popen(
        [sys.executable, "-m", "llm", "speak", "--stream", *speak_args],
        stdin=writer.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    writer.stdout.close()
    return writer, speaker


def read_available(stream, into, stop):
    while not stop.is_set():
        data = stream.read1(65536)
        if not data:
            return
        into.append((time.monotonic(), data))


def test_first_audio_arrives_before_the_writer_has_finished(tiny_models):
    writer, speaker = start_pipeline("-o", "-", "--format", "pcm")
    received, stop = [], threading.Event()
    reader = threading.Thread(target=read_available, args=(speaker.stdout, received, stop))
    reader.start()
    # A piece of speech holds at least 60 characters (text/sentences.py's speech_pieces).
    writer.stdin.write("The first sentence is complete, and long enough to be said alone.\n")
    writer.stdin.flush()
    deadline = time.monotonic() + 120
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert received, "no audio before the rest of the text was written"
    assert writer.poll() is None  # the writer is still running: more text to come
    for i in range(3):
        writer.stdin.write(f"Here comes sentence number {i} of the story.\n")
        writer.stdin.flush()
        time.sleep(0.3)
    writer.stdin.close()
    writer.wait(timeout=30)
    speaker.wait(timeout=120)
    reader.join(timeout=30)
    assert speaker.returncode == 0, speaker.stderr.read()
    total = b"".join(data for _, data in received)
    assert len(total) % 2 == 0 and len(total) > len(received[0][1])


def wav_frames(path):
    with wave.open(str(path)) as w:
        return w.getnframes()


def speak_stream_to_file(tmp_path, name, lines):
    out = tmp_path / name
    writer, speaker = start_pipeline("-o", str(out))
    for line in lines:
        writer.stdin.write(line + "\n")
        writer.stdin.flush()
    writer.stdin.close()
    writer.wait(timeout=30)
    _, err = speaker.communicate(timeout=180)
    assert speaker.returncode == 0, err
    return out


@pytest.mark.stock_path
def test_streamed_file_is_complete_and_grows_with_the_text(tiny_models, tmp_path):
    short = speak_stream_to_file(tmp_path, "short.wav", ["Just one sentence."])
    long = speak_stream_to_file(
        tmp_path, "long.wav", ["Just one sentence.", "And another one.", "And a third to finish."]
    )
    data = long.read_bytes()
    assert data[:4] == b"RIFF" and int.from_bytes(data[4:8], "little") == len(data) - 8
    assert wav_frames(long) > wav_frames(short) > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_streamed_mp3_to_stdout_decodes(tiny_models):
    from llm_mlx_audio.audio.decode import decode_audio

    writer, speaker = start_pipeline("-o", "-", "--format", "mp3")
    writer.stdin.write("Streaming in mp3 works too.\n")
    writer.stdin.close()
    out, err = speaker.communicate(timeout=180)
    assert speaker.returncode == 0, err
    assert len(decode_audio(out)) > 0


def test_ctrl_c_stops_cleanly_and_leaves_no_file(tiny_models, tmp_path):
    out = tmp_path / "interrupted.wav"
    writer, speaker = start_pipeline("-o", str(out))
    writer.stdin.write("A sentence that starts the file.\n")
    writer.stdin.flush()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(p.name.endswith(".part") for p in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    speaker.send_signal(signal.SIGINT)
    _, err = speaker.communicate(timeout=60)
    writer.stdin.close()
    writer.wait(timeout=30)
    assert speaker.returncode == 130, err
    assert b"Traceback" not in err, err
    assert os.listdir(tmp_path) == [], err


def test_stream_refuses_a_text_argument(llm_cli, tiny_models):
    result = llm_cli("speak", "--stream", "some text", "-o", "-")
    assert result.exit_code != 0
    assert "pipe it in" in result.stderr


def test_python_api_streams_text_in_and_audio_out(tiny_models):
    import llm_mlx_audio

    model = llm_mlx_audio.get_speech_model()
    text = (
        "Hello there, this first sentence is long enough to be said on its own. "
        "How are you? Fine, thanks, and this makes the second piece long enough too. Bye."
    )
    pieces = iter([text[i : i + 9] for i in range(0, len(text), 9)])
    chunks = list(llm_mlx_audio.stream_speech(model, pieces))
    assert len(chunks) == 3  # "Bye." is said alone: the text ended before it made 60 characters
    assert all(c.sample_rate == 24000 and len(c.samples) > 0 for c in chunks)
