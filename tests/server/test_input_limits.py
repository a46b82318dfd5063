"""Limits on what a client can make the server hold: bodies, forms, queued uploads, streams."""

import socket
import time

import httpx
import pytest
from server_helpers import SENTENCES, start_server


def raw_request(url, head: bytes, body: bytes = b"", read_timeout=30.0) -> bytes:
    """Send a request by hand (to declare lengths a client library would not) and read the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


# -- JSON bodies ------------------------------------------------------------------------


def test_a_json_body_over_the_limit_is_413(base_url, user_dir):
    body = {"input": "x" * (2 * 1024 * 1024), "model": "tts-1"}
    response = httpx.post(base_url + "/v1/audio/speech", json=body, timeout=60)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_a_declared_huge_json_body_is_refused_before_it_is_sent(base_url, user_dir):
    head = (
        b"POST /v1/audio/speech HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000000\r\n\r\n"
    )
    assert status_of(raw_request(base_url, head)) == 413


def test_a_chunked_json_body_is_counted_as_it_comes(base_url, user_dir):
    def chunks():
        yield b'{"input": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    response = httpx.post(
        base_url + "/v1/audio/speech", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_a_json_body_under_the_limit_still_works(base_url, user_dir):
    response = httpx.post(
        base_url + "/v1/audio/speech", json={"input": "Hello.", "response_format": "wav"}, timeout=120
    )
    assert response.status_code == 200 and response.content[:4] == b"RIFF"


# -- forms ------------------------------------------------------------------------------


def test_a_form_with_too_many_fields_is_refused(base_url, user_dir, clip):
    fields = [(f"field{i}", "x") for i in range(200)]
    response = httpx.post(
        base_url + "/v1/audio/transcriptions", files={"file": ("clip.wav", clip)}, data=dict(fields)
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_fields"


def test_a_huge_form_field_is_refused(base_url, user_dir, clip):
    response = httpx.post(
        base_url + "/v1/audio/transcriptions",
        files={"file": ("clip.wav", clip)},
        data={"prompt": "word " * 40000},
    )
    assert response.status_code == 400
    assert "longer than 64 KB" in response.json()["error"]["message"]


# -- admission and streams ----------------------------------------------------------------


@pytest.fixture
def one_at_a_time(models):
    url, stop = start_server(max_queue=0)
    yield url
    stop()


def requests_in_flight(url) -> int:
    return httpx.get(url + "/health", timeout=10).json()["requests"]


def test_a_streamed_response_holds_its_place_until_it_ends_and_uploads_wait_unread(
    one_at_a_time, user_dir, clip
):
    """A stream the client reads slowly is still synthesizing: it keeps the one place, so
    an upload is refused before its body is read, and the place comes back when it ends."""
    body = {
        # No sentence ends: 300-character pieces, the slowest the tiny model makes, so the
        # stream is still synthesizing when the upload comes.
        "input": " ".join(SENTENCES.replace(".", ",") for _ in range(56)),
        "response_format": "pcm",
        "stream_format": "audio",
        "sample_format": "float32",
    }
    # The upload declares 20 MB and sends none of it: the answer must come anyway.
    head = (
        b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 20000000\r\n\r\n"
    )
    url = one_at_a_time + "/v1/audio/speech"
    with httpx.Client(timeout=120) as streamer, streamer.stream("POST", url, json=body) as stream:
        assert stream.status_code == 200
        next(stream.iter_raw(4096))  # the first chunk, then the client stops reading
        assert requests_in_flight(one_at_a_time) == 1
        assert status_of(raw_request(one_at_a_time, head, read_timeout=10)) == 503
    deadline = time.monotonic() + 30
    while requests_in_flight(one_at_a_time) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert requests_in_flight(one_at_a_time) == 0
    response = httpx.post(
        one_at_a_time + "/v1/audio/transcriptions", files={"file": ("clip.wav", clip)}, timeout=120
    )
    assert response.status_code == 200, response.text
