"""The upload size limit and the API key, on a locked server."""

import httpx
import openai
import pytest
from server_helpers import API_KEY, LOCKED_UPLOAD_LIMIT, transcribe

# -- size limit and API key -------------------------------------------------------------


def locked_client(url, key=API_KEY):
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=120)


def test_upload_declared_over_the_limit_is_413(locked_url, user_dir):
    with pytest.raises(openai.APIStatusError) as raised:
        transcribe(locked_client(locked_url), b"\0" * (LOCKED_UPLOAD_LIMIT * 8))
    assert raised.value.status_code == 413


def test_chunked_upload_over_the_limit_is_413(locked_url, user_dir):
    # No Content-Length: the server must count the bytes as they arrive.
    def body():
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        for _ in range(32):
            yield b"\0" * 32768

    response = httpx.post(
        locked_url + "/v1/audio/transcriptions",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=xyz", "authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"


def test_file_just_over_the_limit_is_413(locked_url, user_dir):
    with pytest.raises(openai.APIStatusError) as raised:
        transcribe(locked_client(locked_url), b"\0" * (LOCKED_UPLOAD_LIMIT + 1))
    assert raised.value.status_code == 413


def test_upload_under_the_limit_is_transcribed(locked_url, user_dir, clip):
    assert len(clip) < LOCKED_UPLOAD_LIMIT
    assert isinstance(transcribe(locked_client(locked_url), clip).text, str)


def test_missing_api_key_is_401(locked_url, user_dir):
    response = httpx.post(locked_url + "/v1/audio/speech", json={"input": "Hello."})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_the_read_only_listings_answer_without_a_key_as_open_webui_asks(locked_url, user_dir):
    for path in ("/v1/models", "/v1/audio/models", "/v1/audio/voices"):
        response = httpx.get(locked_url + path)
        assert response.status_code == 200, (path, response.text)
    names = [model["id"] for model in httpx.get(locked_url + "/v1/audio/models").json()["data"]]
    assert names
    # Listings only: the same paths with another method, and everything that runs a model, need the key.
    assert httpx.post(locked_url + "/v1/models").status_code == 401
    assert httpx.post(locked_url + "/v1/audio/transcriptions").status_code == 401


def test_wrong_api_key_raises_authentication_error(locked_url, user_dir):
    with pytest.raises(openai.AuthenticationError):
        locked_client(locked_url, key="wrong").audio.speech.create(model="tts-1", voice="alloy", input="Hi.")


def test_api_key_is_needed_for_the_openapi_document_too(locked_url, user_dir):
    assert httpx.get(locked_url + "/openapi.json").status_code == 401


def test_health_needs_no_api_key(locked_url, user_dir):
    assert httpx.get(locked_url + "/health").json()["status"] == "ok"
