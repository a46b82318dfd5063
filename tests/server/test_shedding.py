"""A server that sheds dead work: abandoned requests stop, floods get 503, SIGTERM is graceful.

Real HTTP on loopback against the real app; `llm audio serve` itself in a subprocess
for SIGTERM. No timing assertions: what is checked is what happened (work stopped by
cancellation, statuses, exit codes), each wait bounded.
"""

import concurrent.futures
import signal
import threading
import time

import httpx
import numpy as np
import pytest
from llm_runner import serve_in_a_process
from server_helpers import start_server

from llm_mlx_audio.audio.encode import encode_audio


@pytest.fixture(scope="module")
def long_noise():
    """Twenty minutes of quiet noise: Whisper decodes it window by window (40 windows, several
    seconds even for the tiny model, so the client below gives up well before the end)."""
    rng = np.random.default_rng(0)
    return encode_audio((0.05 * rng.standard_normal(16000 * 1200)).astype(np.float32), 16000, "flac")


def _health(url):
    return httpx.get(url + "/health", timeout=10).json()


def _wait_idle(url, deadline=180):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if _health(url)["requests"] == 0:
            return True
        time.sleep(0.1)
    return False


def test_an_abandoned_transcription_stops_at_its_next_window(models, long_noise, user_dir):
    url, stop = start_server(max_upload_bytes=64 * 1024 * 1024)
    try:
        before = _health(url)["cancelled"]
        with pytest.raises(httpx.TimeoutException):
            httpx.post(
                url + "/v1/audio/transcriptions",
                files={"file": ("long.flac", long_noise)},
                data={"model": "tiny-whisper"},
                timeout=httpx.Timeout(60, read=1.0),  # the client gives up after 1 s
            )
        assert _wait_idle(url)
        assert _health(url)["cancelled"] == before + 1  # stopped, not run to the end
        quick = httpx.post(
            url + "/v1/audio/speech",
            json={"model": "tiny-kitten", "input": "Next.", "response_format": "wav"},
            timeout=120,
        )
        assert quick.status_code == 200
    finally:
        stop()


def test_a_flood_gets_answers_or_503s_never_hangs_or_500s(models, clip, user_dir):
    url, stop = start_server(max_queue=8)
    try:

        def one(i):
            if i % 2:
                response = httpx.post(
                    url + "/v1/audio/transcriptions",
                    files={"file": ("clip.wav", clip)},
                    data={"model": "tiny-whisper"},
                    timeout=300,
                )
            else:
                body = {"model": "tiny-kitten", "input": f"Number {i}.", "response_format": "wav"}
                response = httpx.post(url + "/v1/audio/speech", json=body, timeout=300)
            return response.status_code, response.headers.get("retry-after")

        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(one, range(50)))
        statuses = [status for status, _ in answers]
        assert set(statuses) <= {200, 503}, statuses
        assert statuses.count(200) >= 9 and statuses.count(503) >= 1
        assert all(int(retry) >= 1 for status, retry in answers if status == 503)
    finally:
        stop()


def test_sigterm_finishes_the_request_in_flight_and_exits_0(models, user_dir):
    process, url = serve_in_a_process(user_dir)
    try:
        result = {}
        text = " ".join(["This sentence keeps the model busy for a while."] * 6)

        def request():
            body = {"model": "tiny-kitten", "input": text, "response_format": "wav"}
            result["response"] = httpx.post(url + "/v1/audio/speech", json=body, timeout=120)

        client = threading.Thread(target=request)
        client.start()
        end = time.monotonic() + 60
        while _health(url)["requests"] == 0 and time.monotonic() < end:
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        client.join(timeout=120)
        assert process.wait(timeout=60) == 0
        assert result["response"].status_code == 200
        assert result["response"].content[:4] == b"RIFF"
        assert not (user_dir / "llm-mlx-audio-server.json").exists()  # the advert is withdrawn
    finally:
        if process.poll() is None:
            process.kill()


def test_keep_alive_unloads_idle_models(models, user_dir):
    process, url = serve_in_a_process(user_dir, "--keep-alive", "1s")
    try:
        body = {"model": "tiny-kitten", "input": "Hello.", "response_format": "wav"}
        assert httpx.post(url + "/v1/audio/speech", json=body, timeout=120).status_code == 200
        loaded = _health(url)["models"]
        assert loaded and "idle_seconds" in loaded[0] and loaded[0]["bytes"] >= 0
        end = time.monotonic() + 60
        while _health(url)["models"] and time.monotonic() < end:
            time.sleep(0.2)
        assert _health(url)["models"] == []
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
