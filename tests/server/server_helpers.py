"""What the server tests share: a real server in a thread, a test clip, openai calls."""

import threading
import time

import uvicorn

from llm_mlx_audio.audio import encode

API_KEY = "test-key-3f9a"
LOCKED_UPLOAD_LIMIT = 64 * 1024
# The first bytes of each compressed format, as the server answers it.
MAGIC = {
    "mp3": lambda b: b[:3] == b"ID3" or (b[0] == 0xFF and b[1] & 0xE0 == 0xE0),
    "flac": lambda b: b[:4] == b"fLaC",
    "opus": lambda b: b[:4] == b"OggS" and b"OpusHead" in b[:80],
    "aac": lambda b: b[0] == 0xFF and b[1] & 0xF6 == 0xF0,  # ADTS sync word
}
SENTENCES = "The first sentence is here. A second one follows it. And then a third."


def start_server(*, header_timeout=None, max_connections=None, app=None, **options):
    """The real app on a free port, served by uvicorn in a thread with the settings
    `llm audio serve` uses (server/run.py's make_config); returns (url, stop)."""
    from llm_mlx_audio.server import app as server
    from llm_mlx_audio.server.run import bind_socket, make_config, url_for

    app = app or server.create_app(**options)
    sock = bind_socket("127.0.0.1", 0)
    limits = {"header_timeout": header_timeout, "max_connections": max_connections}
    instance = uvicorn.Server(make_config(app, **{k: v for k, v in limits.items() if v is not None}))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)

    def stop():
        instance.should_exit = True
        thread.join(timeout=30)
        sock.close()

    return url_for(sock), stop


def tone_wav(seconds=2.0, rate=16000):
    """A real wav file: bursts of a 220 Hz tone and silence."""
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    samples = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    return encode.encode_audio(samples.astype(np.float32), rate, "wav")


def speak(client, **kwargs):
    arguments = {"model": "tts-1", "input": "Hello there.", "voice": "alloy"}
    arguments.update(kwargs)
    return client.audio.speech.create(**arguments)


def transcribe(client, clip, **kwargs):
    arguments = {"model": "whisper-1", "file": ("clip.wav", clip)}
    arguments.update(kwargs)
    return client.audio.transcriptions.create(**arguments)


def kitten_rate():
    from llm_mlx_audio import registry

    return registry.find_model("speech", "tiny-kitten").sample_rate
