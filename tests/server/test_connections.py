"""Idle sockets cannot use the server up: a header timeout and a connection cap.

A client that opens connections and sends nothing (or dribbles a request's headers)
holds a file descriptor each; hundreds of them must not stop /health and real
requests from being answered, and they must be closed in the end.
"""

import socket
import time

import httpx
import pytest
from server_helpers import start_server


def open_idle_sockets(url, count, partial_headers=False):
    host, port = url.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=10)
        if partial_headers:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")  # never finished
        sockets.append(sock)
    return sockets


def closed_by_server(sock, wait=0.0) -> bool:
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except (TimeoutError, BlockingIOError):
        return False
    except OSError:
        return True


@pytest.fixture
def capped_server(models):
    url, stop = start_server(header_timeout=2.0, max_connections=50)
    yield url
    stop()


def test_hundreds_of_idle_sockets_leave_health_answering(base_url, user_dir):
    idle = open_idle_sockets(base_url, 150) + open_idle_sockets(base_url, 150, partial_headers=True)
    try:
        for _ in range(3):
            response = httpx.get(base_url + "/health", timeout=10)
            assert response.status_code == 200 and response.json()["status"] == "ok"
    finally:
        for sock in idle:
            sock.close()


def test_past_the_cap_the_longest_idle_connections_make_room(capped_server, user_dir):
    idle = open_idle_sockets(capped_server, 120)
    try:
        assert httpx.get(capped_server + "/health", timeout=10).status_code == 200
        time.sleep(0.5)
        closed = [closed_by_server(sock) for sock in idle]
        # The first ones opened went first; the server holds no more than its cap.
        assert sum(closed) >= 120 - 50
        assert all(closed[:60])
    finally:
        for sock in idle:
            sock.close()


def test_a_connection_that_never_finishes_its_headers_is_closed(capped_server, user_dir):
    dribbling = open_idle_sockets(capped_server, 5, partial_headers=True)
    silent = open_idle_sockets(capped_server, 5)
    try:
        assert not any(closed_by_server(sock) for sock in dribbling + silent)
        time.sleep(3.0)  # past the 2-second header timeout
        assert all(closed_by_server(sock, wait=1.0) for sock in dribbling + silent)
        # A client that asks in time is answered, and may reuse its connection.
        with httpx.Client(base_url=capped_server, timeout=10) as client:
            assert client.get("/health").status_code == 200
            assert client.get("/v1/models").status_code == 200
    finally:
        for sock in dribbling + silent:
            sock.close()


def test_the_file_limit_is_raised_for_the_connection_cap():
    import resource

    from llm_mlx_audio.server.connections import raise_file_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # macOS's default
        raise_file_limit(1000)
        now = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert now >= min(1256, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
