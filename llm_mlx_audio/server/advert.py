"""A running `llm audio serve` says where it is, so this machine's commands can use it warm.

The server writes ``llm-mlx-audio-server.json`` (address, pid, an access token) into
llm's user directory, readable by this user only, and removes it when it stops. A
command that finds it checks that the process is alive and answers /health quickly;
a stale or dead advert is ignored (and removed). Only the standard library (and files.py) here:
the commands read this on every call.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import urllib.request
from pathlib import Path

ADVERT_FILE = "llm-mlx-audio-server.json"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def proof(token: str, challenge: str) -> str:
    """What a server holding token answers to challenge: HMAC-SHA256, so the token stays secret."""
    return hmac.new(token.encode(), challenge.encode(), hashlib.sha256).hexdigest()


def write(user_dir: Path, url: str, token: str) -> None:
    """Advertise the server at url, with the token this machine's commands may use."""
    from ..files import write_atomically

    path = Path(user_dir) / ADVERT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"url": url, "pid": os.getpid(), "token": token}).encode()
    write_atomically(path, data, mode=0o600)  # the token is for this user only


def remove(user_dir: Path) -> None:
    """Withdraw this process's advert (another server's is left alone)."""
    path = Path(user_dir) / ADVERT_FILE
    advert = _read(path)
    if advert is not None and advert.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def find(user_dir: Path, timeout: float = 2.0) -> dict | None:
    """{"url", "pid", "token"} of a live server on this machine, or None.

    The process is checked first (a dead one costs nothing); a live one gets up to
    `timeout` to answer /health: on a busy 2-core machine 0.5 s was sometimes too
    little, and the command silently did the work itself. Whoever answers must prove it
    holds the advert's token (an HMAC of a fresh challenge): after the server dies, any
    program could take its port, and it must get neither the token nor the user's audio.
    """
    path = Path(user_dir) / ADVERT_FILE
    advert = _read(path)
    if advert is None:
        return None
    if not _alive(advert.get("pid")):
        path.unlink(missing_ok=True)  # its server died without cleaning up
        return None
    token = advert.get("token")
    if not isinstance(token, str) or not _is_loopback_url(advert["url"]):
        return None
    challenge = secrets.token_urlsafe(16)
    try:
        with opener().open(f"{advert['url']}/health?challenge={challenge}", timeout=timeout) as response:
            answer = json.loads(response.read(1 << 16)) if response.status == 200 else None
    except (OSError, ValueError):
        return None
    claimed = answer.get("proof") if isinstance(answer, dict) else None
    if isinstance(claimed, str) and hmac.compare_digest(claimed, proof(token, challenge)):
        return advert
    return None


def opener() -> urllib.request.OpenerDirector:
    """urllib without proxies: the server is on this machine, and http_proxy must not see
    the token or the audio on their way to it."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _is_loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("url"), str) and isinstance(data.get("pid"), int):
        return data
    return None


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
