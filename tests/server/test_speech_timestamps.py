"""POST /v1/audio/speech with the "timestamps": true extension: the words with the audio.

The embedded Kokoro (the default speech model of a user directory with nothing else in it)
times the words; the tiny kitten model cannot, and says so in a 400.
"""

import base64
import json

import httpx
import pytest
from server_helpers import start_server

from llm_mlx_audio.audio import decode
from llm_mlx_audio.engine import embedded

TEXT = "**Bold** claim: it costs 1,234 dollars.\n\nSee https://example.com/docs now."
needs_kokoro = pytest.mark.skipif(
    not embedded.available("speech"), reason="the embedded Kokoro is not installed"
)


@pytest.fixture(scope="module")
def kokoro_url(shared_user_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        patch.setenv("HF_HUB_OFFLINE", "1")
        url, stop = start_server()
        yield url
        stop()


def speech(url, **extra):
    body = {"model": "kokoro-82m", "input": TEXT, "response_format": "wav", "timestamps": True, **extra}
    return httpx.post(url + "/v1/audio/speech", json=body, timeout=300)


@needs_kokoro
def test_timestamps_answer_json_with_the_audio_and_the_users_words(kokoro_url):
    response = speech(kokoro_url)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["format"] == "wav"
    samples = decode.decode_audio(base64.b64decode(data["audio"]), 24000)
    assert abs(len(samples) / 24000 - data["duration"]) < 0.05
    words = [(w["word"], w["char_start"], w["char_end"]) for w in data["words"]]
    assert words[:2] == [("Bold", 2, 6), ("claim", 9, 14)]
    assert ("1,234", 25, 30) in words and ("https://example.com/docs", 45, 69) in words
    assert all(TEXT[s:e] == w for w, s, e in words)
    assert data["words"][-1]["end"] <= data["duration"]


@needs_kokoro
def test_sse_deltas_carry_the_words_of_their_chunk(kokoro_url):
    # Over 400 characters: two pieces of synthesis, two deltas with words (fast speech: less to make).
    text = TEXT + " " + " ".join(f"Sentence {n} keeps this text going a while longer." for n in range(8))
    whole = speech(kokoro_url, input=text, speed=3).json()["words"]
    with httpx.stream(
        "POST",
        kokoro_url + "/v1/audio/speech",
        json={
            "model": "kokoro-82m",
            "input": text,
            "speed": 3,
            "response_format": "pcm",
            "timestamps": True,
            "stream_format": "sse",
        },
        timeout=300,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    deltas = [e for e in events if e["type"] == "speech.audio.delta"]
    assert events[-1]["type"] == "speech.audio.done"
    assert len([d for d in deltas if d["words"]]) >= 2
    assert [w for d in deltas for w in d["words"]] == whole


def test_a_model_without_durations_refuses_timestamps_in_one_line(shared_tiny_models, shared_user_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        url, stop = start_server()
        try:
            response = speech(url, model="tiny-kitten")
        finally:
            stop()
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "timestamps"
    assert (
        error["message"]
        == "timestamps need a model that reports word durations (Kokoro); tiny-kitten does not"
    )
