"""Models, voices, health, and the shared pool under concurrent requests."""

import concurrent.futures

import httpx
import openai
import pytest
from server_helpers import MAGIC, speak, transcribe

# -- listings, health, pool -----------------------------------------------------------------


def test_models_lists_the_audio_models_in_openai_shape(client):
    ids = {m.id for m in client.models.list()}
    assert {"tiny-kitten", "tiny-whisper"} <= ids


def test_voices_lists_the_models_voices_and_default(base_url, user_dir):
    from llm_mlx_audio import registry

    model = registry.find_model("speech", "tiny-kitten")
    data = httpx.get(base_url + "/v1/audio/voices", params={"model": "tiny-kitten"}).json()
    assert data == {"model": "tiny-kitten", "default": model.default_voice(), "voices": model.voice_info()}
    assert [voice["id"] for voice in data["voices"]] == model.voices()
    assert all(voice["name"] for voice in data["voices"])  # Open WebUI reads {id, name}


def test_health_answers_ok(base_url, user_dir):
    assert httpx.get(base_url + "/health").json()["status"] == "ok"


def test_unknown_route_is_a_404_in_openai_shape(base_url, user_dir):
    response = httpx.get(base_url + "/v1/nothing-here")
    assert response.status_code == 404
    assert "message" in response.json()["error"]


def test_model_stays_loaded_between_requests(client):
    from llm_mlx_audio.engine.pool import get_pool

    speak(client, response_format="wav")
    first = {e["key"] for e in get_pool().loaded() if e["ready"]}
    speak(client, response_format="wav")
    assert first and first <= {e["key"] for e in get_pool().loaded() if e["ready"]}


def test_model_that_does_not_fit_in_memory_is_503(client, clip):
    from llm_mlx_audio.engine.pool import get_pool

    pool = get_pool()
    budget = pool.budget
    for entry in pool.loaded():
        pool.unload(entry["key"])
    pool.budget = 1
    try:
        with pytest.raises(openai.InternalServerError) as raised:
            transcribe(client, clip)
        assert raised.value.status_code == 503
        assert raised.value.body["code"] == "insufficient_memory"
    finally:
        pool.budget = budget


def test_twenty_concurrent_mixed_requests_all_succeed(client, clip, base_url):
    def job(i):
        kind = i % 4
        if kind == 0:
            return speak(client, input=f"Request number {i}.", response_format="wav").content[:4] == b"RIFF"
        if kind == 1:
            return MAGIC["mp3"](speak(client, input=f"Number {i}.").content)
        if kind == 2:
            return isinstance(transcribe(client, clip).text, str)
        return bool(transcribe(client, clip, response_format="srt").strip())

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(job, range(20)))
    assert all(results)
    assert httpx.get(base_url + "/health").json()["status"] == "ok"
