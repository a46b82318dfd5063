"""Running the server: its API key, who may connect, the socket, uvicorn.

Bound before anything is announced, so a busy port is one clear error and port 0
picks a free one; listening beyond this machine needs an API key.
"""

from __future__ import annotations

import ipaddress
import socket

from ..errors import AudioError
from .connections import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, protocol_class, raise_file_limit

API_KEY_NAME = "mlx-audio-server"
API_KEY_ENV = "LLM_MLX_AUDIO_API_KEY"


def resolve_api_key(explicit: str | None, env_name: str | None = None) -> str | None:
    """--api-key, else $VAR of --api-key-env VAR, else the key stored with
    `llm keys set mlx-audio-server`, else $LLM_MLX_AUDIO_API_KEY."""
    import os

    import llm

    if explicit is None and env_name:
        explicit = os.environ.get(env_name, "").strip()
        if not explicit:
            raise AudioError(f"--api-key-env {env_name}: that environment variable is not set")
    return llm.get_key(explicit_key=explicit, key_alias=API_KEY_NAME, env_var=API_KEY_ENV) or None


def check_cors(origins, api_key: str | None) -> frozenset:
    """--cors-origin values as origins; a page allowed to call the server must hold a key,
    since it can run models (and, through conversations, spend the user's LLM keys)."""
    from .browser_guard import normalise_origin

    try:
        allowed = frozenset("*" if o.strip() == "*" else normalise_origin(o) for o in origins)
    except ValueError as error:
        raise AudioError(f"--cors-origin: {error}") from None
    if allowed and not api_key:
        raise AudioError(
            "--cors-origin lets web pages call this server, so it needs an API key: pass --api-key-env, "
            f"run `llm keys set {API_KEY_NAME}` or set {API_KEY_ENV}"
        )
    return allowed


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a hostname or interface name: assume it is reachable from outside


def check_exposure(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond this machine without an API key."""
    if not api_key and not is_loopback(host):
        raise AudioError(
            f"Refusing to listen on {host} without an API key: pass --api-key, "
            f"run `llm keys set {API_KEY_NAME}` or set {API_KEY_ENV}"
        )


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before announcing, so a busy port is one clear error and port 0 picks a free one."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)  # connections made as soon as we announce the URL wait in the backlog
    except OSError as error:
        raise AudioError(f"Cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.set_inheritable(True)
    return sock


def url_for(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def local_url(sock: socket.socket) -> str:
    """The address this machine's own commands use (loopback when listening everywhere)."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_config(
    app,
    *,
    log_level: str = "warning",
    shutdown_timeout: float = 30,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
):
    """uvicorn's settings for the app: the guarded HTTP protocol (server/connections.py),
    WebSockets through the websockets package, graceful shutdown."""
    import uvicorn

    return uvicorn.Config(
        app,
        log_level=log_level,
        timeout_graceful_shutdown=shutdown_timeout,
        http=protocol_class(header_timeout, max_connections),
        ws="websockets-sansio",
        # A Realtime append may carry OpenAI's 15 MB of audio, base64 in JSON (realtime/session.py).
        ws_max_size=22 * 1024 * 1024,
    )


def serve(app, sock: socket.socket, *, log_level: str = "warning", shutdown_timeout: float = 30) -> None:
    """Run uvicorn on an already bound socket until Ctrl-C or SIGTERM.

    Either stops accepting connections at once and lets requests in flight finish for up
    to shutdown_timeout seconds (then they are cancelled); then this returns.
    """
    import uvicorn

    raise_file_limit(DEFAULT_MAX_CONNECTIONS)
    config = make_config(app, log_level=log_level, shutdown_timeout=shutdown_timeout)
    uvicorn.Server(config).run(sockets=[sock])


def start_keep_alive(seconds: float):
    """Unload models idle for seconds, checked in the background; 0 keeps them loaded."""
    import threading

    from .. import registry

    if seconds <= 0:
        return None
    stop = threading.Event()

    def sweep():
        while not stop.wait(min(10.0, max(0.5, seconds / 4))):
            registry.unload_idle(seconds)

    threading.Thread(target=sweep, name="llm-mlx-audio-keep-alive", daemon=True).start()
    return stop
