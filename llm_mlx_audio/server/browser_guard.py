"""Who may talk to the server from a browser: the Host and Origin checks.

A page open in the user's browser can POST a multipart upload to 127.0.0.1 (a CORS
"simple" request, sent without asking) and, after rebinding its own DNS name to
127.0.0.1, read every answer; a WebSocket is not covered by CORS at all. So every
request and WebSocket handshake is checked before it reaches a route:

- ``Host`` must name this server: localhost, 127.0.0.1, [::1], the --host it listens
  on (for 0.0.0.0 or ::, this machine's names and addresses) or an --allow-host
  addition. A rebinding page's requests carry its own name and are refused.
- ``Origin``, which browsers send and other clients do not, must be the server's own
  (its /docs page) or one given with --cors-origin; anything else is refused. Allowed
  cross-origin pages get proper CORS answers (Starlette's CORSMiddleware, inside this).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from .errors import ApiError, error_response

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


def host_name(value: str) -> str:
    """The name part of a Host header or a host option: no port, no brackets, lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def allowed_hosts(bound: str, extra=()) -> frozenset:
    """The Host names a server listening on `bound` answers ("*" among them: any)."""
    names = set(LOOPBACK_NAMES)
    bound_name = host_name(bound)
    if bound_name in WILDCARD_HOSTS:
        names |= _machine_names()
    else:
        names.add(bound_name)
    names |= {"*" if name.strip() == "*" else host_name(name) for name in extra}
    return frozenset(names)


def _machine_names() -> set:
    """This machine's own names and addresses: what clients use for a server on 0.0.0.0."""
    names = set()
    try:
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower(), f"{hostname.lower()}.local"}
        for family in (socket.AF_INET, socket.AF_INET6):
            for info in socket.getaddrinfo(hostname, None, family):
                names.add(info[4][0].lower())
    except OSError:
        pass
    return names


def normalise_origin(origin: str) -> str:
    """scheme://host[:port] as browsers send it: lower case, no path, no trailing slash."""
    parts = urlsplit(origin.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"{origin!r} is not an origin like http://localhost:3000")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class BrowserGuard:
    """ASGI middleware refusing foreign Host names and Origins, on HTTP and WebSocket."""

    def __init__(self, app, hosts: frozenset, cors_origins: frozenset = frozenset()):
        self.app = app
        self.hosts = hosts
        self.cors_origins = cors_origins

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self._refusal(headers.get("host"), headers.get("origin"))
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": refusal.message[:120]})
        else:
            await error_response(refusal)(scope, receive, send)

    def _refusal(self, host: str | None, origin: str | None) -> ApiError | None:
        if host is not None and "*" not in self.hosts and host_name(host) not in self.hosts:
            shown = host_name(host)[:100]
            return ApiError(
                400,
                f"This server does not answer to the name {shown!r}; "
                f"start it with --allow-host {shown} to allow that name",
                code="invalid_host",
            )
        if origin is None or self._origin_allowed(origin, host):
            return None
        shown = origin[:100]
        return ApiError(
            403,
            f"Requests from web pages at {shown} are refused; "
            f"start the server with --cors-origin {shown} (and an API key) to allow that page",
            code="origin_not_allowed",
        )

    def _origin_allowed(self, origin: str, host: str | None) -> bool:
        try:
            origin = normalise_origin(origin)
        except ValueError:
            return False  # "null" (a sandboxed frame, a file:// page) and garbage
        if origin in self.cors_origins or "*" in self.cors_origins:
            return True
        # The server's own pages (its /docs) send their own origin.
        return host is not None and urlsplit(origin).netloc == host.strip().lower()


def _headers(scope) -> dict:
    """The first value of each header, decoded; a duplicated Host or Origin counts as its first."""
    found = {}
    for name, value in scope.get("headers", ()):
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found
