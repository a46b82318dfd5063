"""A small upload that decodes to hours of audio is refused while decoding, under a memory limit.

The server runs as `llm audio serve` in its own process with its data segment capped
well below what the bomb decodes to; the bomb goes without voice activity detection,
the path that holds every sample in memory.
"""

import signal
import sys

import httpx
import pytest
from decode_bombs import decoded_bytes, flac_bomb
from llm_runner import serve_in_a_process

GIB = 1024**3


@pytest.fixture
def limited_server(tiny_models, user_dir):
    process, url = serve_in_a_process(user_dir, "--max-audio-minutes", "60", memory_limit=2 * GIB)
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_DATA is enforced on Linux")
def test_a_decode_bomb_is_refused_and_the_server_lives_on(limited_server):
    bomb = flac_bomb(12)
    assert len(bomb) < 100_000 and decoded_bytes(12) > 2.5 * GIB
    for vad in ("false", "true"):
        response = httpx.post(
            limited_server + "/v1/audio/transcriptions",
            files={"file": ("quiet.flac", bomb, "audio/flac")},
            data={"model": "whisper-1", "vad": vad},
            timeout=300,
        )
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert error["code"] == "audio_too_long"
        assert error["message"] == (
            "The uploaded file 'quiet.flac' is longer than this server's limit of 60 minutes of audio"
        )
    health = httpx.get(limited_server + "/health", timeout=10).json()
    assert health["status"] == "ok" and health["requests"] == 0
