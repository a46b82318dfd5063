"""Web pages cannot drive the server: Host and Origin checks over real HTTP and WebSocket.

The attacks are the ones a page in the user's browser can make: a multipart upload
sent as a CORS "simple" request (no preflight), the same after rebinding its DNS name
to 127.0.0.1 (its requests then carry its own Host), and a WebSocket, which CORS does
not cover at all.
"""

import socket

import httpx
import pytest
from fastapi import WebSocket
from server_helpers import API_KEY, start_server
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

EVIL = "http://evil.example"


def upload(url, clip, **headers):
    """A browser's simple-request upload: multipart, no custom headers but the ones given."""
    return httpx.post(
        url + "/v1/audio/transcriptions",
        files={"file": ("clip.wav", clip, "audio/wav")},
        data={"model": "whisper-1"},
        headers=headers,
        timeout=120,
    )


# -- Host -------------------------------------------------------------------------------


def test_a_rebinding_pages_host_is_refused_before_any_work(base_url, user_dir, clip):
    response = upload(base_url, clip, host="evil.example:8000")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_host"
    assert "--allow-host evil.example" in response.json()["error"]["message"]
    assert httpx.get(base_url + "/v1/models", headers={"host": "evil.example"}).status_code == 400


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST"])
def test_loopback_names_are_answered_with_or_without_a_port(base_url, user_dir, host):
    port = base_url.rsplit(":", 1)[1]
    for value in (host, f"{host}:{port}"):
        assert httpx.get(base_url + "/v1/models", headers={"host": value}).status_code == 200


def test_allow_host_adds_a_name(models, user_dir):
    from llm_mlx_audio.server.browser_guard import allowed_hosts

    url, stop = start_server(hosts=allowed_hosts("127.0.0.1", ["studio.lan"]))
    try:
        assert httpx.get(url + "/v1/models", headers={"host": "studio.lan:8000"}).status_code == 200
        assert httpx.get(url + "/v1/models", headers={"host": "other.lan"}).status_code == 400
    finally:
        stop()


def test_a_wildcard_bind_answers_this_machines_own_names():
    from llm_mlx_audio.server.browser_guard import allowed_hosts

    hosts = allowed_hosts("0.0.0.0")
    assert {"localhost", "127.0.0.1", "::1", socket.gethostname().lower()} <= hosts
    assert "0.0.0.0" not in hosts and "evil.example" not in hosts


# -- Origin -----------------------------------------------------------------------------


def test_a_cross_origin_simple_upload_is_refused(base_url, user_dir, clip):
    response = upload(base_url, clip, origin=EVIL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers
    for origin in ("null", "http://localhost:3000", "file://"):
        assert upload(base_url, clip, origin=origin).status_code == 403


def test_a_cross_origin_speech_request_and_its_preflight_are_refused(base_url, user_dir):
    body = {"input": "Hello.", "response_format": "wav"}
    assert httpx.post(base_url + "/v1/audio/speech", json=body, headers={"origin": EVIL}).status_code == 403
    preflight = httpx.options(
        base_url + "/v1/audio/speech",
        headers={"origin": EVIL, "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers


def test_the_servers_own_pages_may_call_it(base_url, user_dir, clip):
    response = upload(base_url, clip, origin=base_url)
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["text"], str)


@pytest.fixture(scope="module")
def cors_url(models):
    url, stop = start_server(api_key=API_KEY, cors_origins=frozenset({"http://localhost:3000"}))
    yield url
    stop()


def test_an_allowed_origin_gets_proper_cors_answers_and_still_needs_the_key(cors_url, user_dir, clip):
    page = "http://localhost:3000"
    preflight = httpx.options(
        cors_url + "/v1/audio/transcriptions",
        headers={
            "origin": page,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == page
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()

    refused = upload(cors_url, clip, origin=page)
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == page  # the page can read why

    allowed = upload(cors_url, clip, origin=page, authorization=f"Bearer {API_KEY}")
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == page
    assert upload(cors_url, clip, origin=EVIL, authorization=f"Bearer {API_KEY}").status_code == 403


def test_cors_origins_need_an_api_key(llm_cli, user_dir, monkeypatch):
    monkeypatch.delenv("LLM_MLX_AUDIO_API_KEY", raising=False)
    result = llm_cli("audio", "serve", "--port", "0", "--cors-origin", "http://localhost:3000")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--cors-origin lets web pages call this server" in lines[0]


# -- WebSocket --------------------------------------------------------------------------


async def echo(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


@pytest.fixture(scope="module")
def ws_servers(models):
    """The real app (and a keyed one) with a WebSocket route of the test's own: the
    checks sit in front of every route, so any WebSocket route gets them."""
    from llm_mlx_audio.server.app import create_app

    servers = {}
    stops = []
    for name, options in (("open", {}), ("keyed", {"api_key": API_KEY})):
        app = create_app(**options)
        app.add_api_websocket_route("/echo", echo)
        url, stop = start_server(app=app)
        servers[name] = url.replace("http://", "ws://") + "/echo"
        stops.append(stop)
    yield servers
    for stop in stops:
        stop()


def say_hello(url, **options):
    with connect(url, open_timeout=10, **options) as websocket:
        websocket.send("hello")
        return websocket.recv(timeout=10)


def test_a_websocket_from_a_foreign_origin_or_host_is_refused(ws_servers, user_dir):
    url = ws_servers["open"]
    assert say_hello(url) == "hello"  # a program (no Origin) on this machine
    own_origin = url.replace("ws://", "http://").removesuffix("/echo")
    assert say_hello(url, origin=own_origin) == "hello"  # the server's own page
    for options in ({"origin": EVIL}, {"origin": "null"}):
        with pytest.raises(InvalidStatus) as refused:
            say_hello(url, **options)
        assert refused.value.response.status_code == 403
    # DNS rebinding: the page's own name in the URL (and so in Host), the socket to 127.0.0.1.
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(InvalidStatus) as refused:
        say_hello(f"ws://evil.example:{port}/echo", sock=socket.create_connection(("127.0.0.1", port)))
    assert refused.value.response.status_code == 403


def test_a_websocket_needs_the_key_as_a_header_or_openais_subprotocol(ws_servers, user_dir):
    url = ws_servers["keyed"]
    with pytest.raises(InvalidStatus) as refused:
        say_hello(url)
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        say_hello(url, additional_headers={"Authorization": "Bearer wrong"})
    assert say_hello(url, additional_headers={"Authorization": f"Bearer {API_KEY}"}) == "hello"
    assert say_hello(url, subprotocols=[f"openai-insecure-api-key.{API_KEY}"]) == "hello"


def test_a_websocket_outlives_the_header_timeout(models, user_dir):
    import time

    from llm_mlx_audio.server.app import create_app

    app = create_app()
    app.add_api_websocket_route("/echo", echo)
    url, stop = start_server(app=app, header_timeout=1.0)
    try:
        with connect(url.replace("http://", "ws://") + "/echo", open_timeout=10) as websocket:
            time.sleep(2.5)
            websocket.send("still here")
            assert websocket.recv(timeout=10) == "still here"
    finally:
        stop()
